"""The application's own plumbing as services: the database probe behind /healthz and
dropping a unit of work a route decided not to keep (so routes never touch the session)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from tracker.extensions import db


@dataclass(frozen=True)
class DatabaseStatus:
    ok: bool
    dialect: str = ""
    round_trip_ms: float = 0.0
    error: str = ""


def database_status() -> DatabaseStatus:
    """One `SELECT 1`: whether the database answers, which one it is and how fast."""
    started = time.perf_counter()
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        db.session.rollback()
        return DatabaseStatus(ok=False, error=type(exc).__name__)
    elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
    return DatabaseStatus(ok=True, dialect=db.engine.dialect.name, round_trip_ms=elapsed_ms)


def discard_changes() -> None:
    """Throw away whatever a refused service call left in the session."""
    db.session.rollback()
