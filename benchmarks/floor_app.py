"""The framework floor for benchmarks/http.py: a bare Flask app reading one row as JSON.

Served by the same gunicorn settings on the same database as the tracker, it
measures what Flask + SQLAlchemy + gunicorn cost on this machine before any of
our code runs: no login, no permissions, no templates, no ORM objects.
Run from the repository root: `gunicorn benchmarks.floor_app:app` with DATABASE_URL set.
"""

from __future__ import annotations

import os

from flask import Flask, abort, jsonify
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, event, select

metadata = MetaData()
engagement = Table(
    "engagement",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String),
    Column("state", String),
    Column("health", String),
    Column("version", Integer),
)


def _engine():
    """The same database and driver the tracker uses (psycopg 3; SQLite in WAL mode)."""
    url = os.environ["DATABASE_URL"]
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, connection_record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


app = Flask(__name__)
db_engine = _engine()


@app.get("/floor/<int:engagement_id>")
def floor(engagement_id: int):
    """One engagement row as JSON: the least a JSON detail endpoint can do."""
    with db_engine.connect() as connection:
        row = connection.execute(select(engagement).where(engagement.c.id == engagement_id)).first()
    if row is None:
        abort(404)
    return jsonify(dict(row._mapping))


@app.get("/healthz")
def healthz():
    return jsonify(status="ok")
