"""GET /healthz: the app answers and so does its database."""

import time

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from tracker.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 with the database round-trip time, or 503 naming the failure."""
    started = time.perf_counter()
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        db.session.rollback()
        return jsonify(status="error", database="unavailable", detail=type(exc).__name__), 503
    elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
    dialect = db.engine.dialect.name
    return jsonify(status="ok", database="ok", dialect=dialect, db_ms=elapsed_ms)
