"""Writing the audit trail (never commits: the caller's transaction owns the row)."""

from __future__ import annotations

from tracker.extensions import db
from tracker.models import AuditEvent, Engagement, User

SCHEDULER_LABEL = "scheduler"


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
