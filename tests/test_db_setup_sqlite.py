"""Every SQLite connection the app opens gets WAL, synchronous=NORMAL, foreign keys and the
busy timeout, whatever its class: a `sqlite3.Connection` subclass given as `factory` was
once recognised by its module's name and silently got none of them (every COMMIT then
synced the WAL to disk; docs/benchmarks.md, branch update32)."""

from __future__ import annotations

import sqlite3

from sqlalchemy import create_engine

PRAGMAS = ("foreign_keys", "journal_mode", "synchronous", "busy_timeout")
EXPECTED = {"foreign_keys": 1, "journal_mode": "wal", "synchronous": 1, "busy_timeout": 30000}


class CountingConnection(sqlite3.Connection):
    """A connection class of another module, as a `factory=` connect argument gives."""


def _pragmas(engine) -> tuple[type, dict]:
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        return type(conn), {name: conn.execute(f"PRAGMA {name}").fetchone()[0] for name in PRAGMAS}
    finally:
        raw.close()


def test_a_connection_subclass_gets_the_same_pragmas(tmp_path):
    import tracker.db_setup  # noqa: F401  (installs the connect hook on every Engine)

    for factory in (sqlite3.Connection, CountingConnection):
        engine = create_engine(
            f"sqlite:///{tmp_path / factory.__name__}.db", connect_args={"factory": factory}
        )
        try:
            kind, pragmas = _pragmas(engine)
        finally:
            engine.dispose()
        assert kind is factory
        assert pragmas == EXPECTED
