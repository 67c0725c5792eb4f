"""The framework floor for benchmarks/http.py: a bare Flask app reading one row as JSON.

Served by the same gunicorn settings on the same database as the tracker, it
measures what Flask + SQLAlchemy + gunicorn cost on this machine before any of
our code runs: no login, no permissions, no templates, no ORM objects.
A second endpoint reads a page of 50 rows with the provider's and owner's names,
the least the API list can do, so a list is compared with a list as well as with
the one-row floor the targets are stated against.
Run from the repository root: `gunicorn benchmarks.floor_app:app` with DATABASE_URL set.
"""

from __future__ import annotations

import os

from flask import Flask, abort, jsonify, request
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
    Column("provider_id", Integer),
    Column("owner_id", Integer),
    Column("updated_at", String),
)
provider = Table("provider_organisation", metadata, Column("id", Integer), Column("name", String))
owner = Table("user", metadata, Column("id", Integer), Column("name", String))


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


@app.get("/floor/list")
def floor_list():
    """50 engagements of one state, newest change first, with provider and owner names."""
    page = max(1, request.args.get("page", 1, type=int))
    query = (
        select(
            engagement.c.id, engagement.c.title, engagement.c.state, engagement.c.health,
            engagement.c.version, engagement.c.updated_at,
            provider.c.id.label("provider_id"), provider.c.name.label("provider_name"),
            owner.c.id.label("owner_id"), owner.c.name.label("owner_name"),
        )
        .join(provider, provider.c.id == engagement.c.provider_id)
        .join(owner, owner.c.id == engagement.c.owner_id)
        .where(engagement.c.state == request.args.get("state", "trial"))
        .order_by(engagement.c.updated_at.desc(), engagement.c.id.desc())
        .limit(50)
        .offset((page - 1) * 50)
    )  # fmt: skip
    with db_engine.connect() as connection:
        rows = [dict(row._mapping) for row in connection.execute(query)]
    return jsonify(items=rows)


@app.get("/healthz")
def healthz():
    return jsonify(status="ok")
