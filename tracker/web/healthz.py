"""GET /healthz: the app answers and so does its database."""

from flask import Blueprint, jsonify

from tracker.services.system import database_status

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 with the database round-trip time, or 503 naming the failure."""
    status = database_status()
    if not status.ok:
        return jsonify(status="error", database="unavailable", detail=status.error), 503
    return jsonify(status="ok", database="ok", dialect=status.dialect, db_ms=status.round_trip_ms)
