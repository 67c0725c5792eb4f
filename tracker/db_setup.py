"""Database engine hooks and column types shared by every model."""

import logging
import sqlite3
from datetime import UTC

from flask import Flask
from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.selectable import CompoundSelect, Select
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no time zones, so naive values come back from it; this type
    refuses naive input and re-attaches UTC on the way out, on both databases.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC instant is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def init_app(app: Flask) -> None:
    """Give SQLite a single shared connection in memory and sane timeouts elsewhere."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if uri.startswith("sqlite"):
        connect_args = options.setdefault("connect_args", {})
        connect_args.setdefault("check_same_thread", False)
        connect_args.setdefault("timeout", 30)
        if uri in ("sqlite://", "sqlite:///:memory:"):
            options.setdefault("poolclass", StaticPool)
    else:
        options.setdefault("pool_pre_ping", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """WAL for concurrent readers, foreign keys on, and a busy timeout."""
    if not isinstance(dbapi_connection, sqlite3.Connection):  # a subclass (factory=) too
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


# -- a request that only read ends its transaction with COMMIT --------------------------------
#
# Closing the session rolls its transaction back, and psycopg forgets every statement it
# has prepared on the connection at each ROLLBACK (a statement prepared in a transaction
# that failed may be gone on the server). So on PostgreSQL no statement a page sends was
# ever prepared: each was parsed and planned again, request after request (the engagement
# page's ~20 statements: ~12 ms of server time of ~21). A transaction that sent only
# SELECTs changed nothing, so COMMIT and ROLLBACK end it the same way; COMMIT keeps what
# psycopg prepared (after five runs of the same statement). docs/adr/0253.


def _only_selects(context) -> bool:
    compiled = getattr(context, "compiled", None)
    return compiled is not None and isinstance(compiled.statement, (Select, CompoundSelect))


@event.listens_for(Engine, "begin")
def _transaction_begins(conn):
    conn.info["wrote"] = False


@event.listens_for(Engine, "before_cursor_execute")
def _note_writes(conn, cursor, statement, parameters, context, executemany):
    """Anything but a SELECT built with SQLAlchemy (DML, DDL, text, a flush) counts as a
    write, so only transactions known to have read alone are committed at the end."""
    if not _only_selects(context):
        conn.info["wrote"] = True


def finish_requests(app: Flask, db) -> None:
    """Register the end of a request's transaction; call after `db.init_app(app)`, so it
    runs before Flask-SQLAlchemy removes the session (teardowns run in reverse order)."""

    @app.teardown_appcontext
    def _commit_what_only_read(exc):
        if exc is None and db.session.registry.has():
            close_committing_reads(db.session())


def close_committing_reads(session) -> bool:
    """Close the session, its transaction ended with COMMIT if it sent only SELECTs and
    holds no pending change (True then); anything else is rolled back by the close."""
    committed = False
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        connection = session.connection()
        if connection.info.get("wrote") is False:
            try:
                connection.commit()
                committed = True
            except SQLAlchemyError:  # the connection is gone: the close discards it
                log.warning("ending a read-only transaction failed", exc_info=True)
    session.close()
    return committed
