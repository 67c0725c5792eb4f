"""CSV downloads from the pages: the dashboard list as filtered and sorted, and one
engagement's milestones (with history), checklist and audit trail."""

from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user, login_required

from tracker.core import clock
from tracker.core.downloads import csv_response
from tracker.services.exchange import csv_export
from tracker.services.read_model import dashboard as dashboard_service

bp = Blueprint("exports", __name__)


@bp.get("/engagements.csv")
@login_required
def engagements_csv():
    """The dashboard or engagements list with the same filters and sort, every page."""
    query = dashboard_service.parse_query(request.args)
    today = clock.now().date()
    chunks = csv_export.engagements_csv(current_user, query, today)
    return csv_response(chunks, f"engagements-{today.isoformat()}.csv")


@bp.get("/engagements/<int:engagement_id>/milestones.csv")
@login_required
def milestones_csv(engagement_id: int):
    """Milestones with every status update, one row per update."""
    chunks = csv_export.milestones_csv(current_user, engagement_id)
    return csv_response(chunks, f"engagement-{engagement_id}-milestones.csv")


@bp.get("/engagements/<int:engagement_id>/checklist.csv")
@login_required
def checklist_csv(engagement_id: int):
    """Every checklist item with owner, due date and completion."""
    chunks = csv_export.checklist_csv(current_user, engagement_id)
    return csv_response(chunks, f"engagement-{engagement_id}-checklist.csv")


@bp.get("/engagements/<int:engagement_id>/audit.csv")
@login_required
def audit_csv(engagement_id: int):
    """The audit trail, oldest first."""
    chunks = csv_export.audit_csv(current_user, engagement_id)
    return csv_response(chunks, f"engagement-{engagement_id}-audit.csv")
