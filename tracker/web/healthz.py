"""GET /healthz: the app answers, so does its database, and how the scheduler is doing."""

from flask import Blueprint, jsonify

from tracker.core import clock
from tracker.scheduling.status import scheduler_health
from tracker.services.core.system import database_status
from tracker.services.workflow.workflow_registry import definition_errors

bp = Blueprint("healthz", __name__)


@bp.get("/healthz")
def healthz():
    """200 with the database round-trip time and the scheduler's state, or 503 naming the failure.

    `scheduler.steps` gives each tick step's last run and last clean run (no error, no
    failed row); `oldest_due_seconds` how long the oldest due row has waited; `failed`
    the rows given up on, per kind; `circuits` each delivery breaker on record (the
    mail server, a webhook endpoint) with until when it rests and why (ADR 0204).
    `workflow_definition_errors` names each malformed
    definition file (only its engagements are refused). Monitoring alerts on these; the
    status stays "ok" while the app and its database answer.
    """
    status = database_status()
    if not status.ok:
        return jsonify(status="error", database="unavailable", detail=status.error), 503
    health = scheduler_health(clock.now())
    scheduler = {
        "steps": health.steps,
        "oldest_due_seconds": health.oldest_due_seconds,
        "failed": health.failed,
        "circuits": health.circuits,
    }
    return jsonify(
        status="ok",
        database="ok",
        dialect=status.dialect,
        db_ms=status.round_trip_ms,
        scheduler=scheduler,
        workflow_definition_errors=definition_errors(),
    )
