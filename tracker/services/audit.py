"""Writing the audit trail (never commits: the caller's transaction owns the row)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, true

from tracker.extensions import db
from tracker.models import AuditEvent, Engagement, User
from tracker.schemas.engagement import COST_FIELDS

SCHEDULER_LABEL = "scheduler"
# Changes to fields only the client side may see are their own kind of entry, so the
# trail of anyone else leaves them out in SQL (paging stays exact) instead of showing
# that "monthly cost" changed with the value blanked.
COST_CHANGE_KIND = "cost_updated"


def audience_clause(can_view_cost: bool) -> ColumnElement[bool]:
    """WHERE clause for the entries this audience may read."""
    return true() if can_view_cost else AuditEvent.kind != COST_CHANGE_KIND


def split_changes(changed: dict) -> tuple[dict, dict]:
    """(fields anyone who sees the engagement may see, cost fields) of a change set."""
    visible = {k: v for k, v in changed.items() if k not in COST_FIELDS}
    restricted = {k: v for k, v in changed.items() if k in COST_FIELDS}
    return visible, restricted


def record(
    engagement: Engagement | None,
    actor: User | None,
    kind: str,
    *,
    event: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    data: dict | None = None,
) -> AuditEvent:
    """Add an audit row to the current transaction; it commits or rolls back with it."""
    entry = AuditEvent(
        engagement_id=engagement.id if engagement is not None else None,
        actor_id=actor.id if actor is not None else None,
        actor_label=actor.name if actor is not None else SCHEDULER_LABEL,
        kind=kind,
        event=event,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        data=data or {},
        workflow_version=engagement.workflow_version if engagement is not None else None,
    )
    db.session.add(entry)
    return entry
