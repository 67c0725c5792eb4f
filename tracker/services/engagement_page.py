"""What the engagement page and the forms on it read, each in one query (no per-row loads).

The page itself is assembled in `tracker.web.overview`. What takes an actor answers
NotFound for what the actor may not see, exactly as for what does not exist.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from tracker.auth.permissions import get_visible_engagement
from tracker.errors import NotFound
from tracker.extensions import db
from tracker.models import (
    AuditEvent,
    ChecklistItem,
    ChecklistKind,
    Engagement,
    Milestone,
    MilestoneUpdate,
    User,
)


def visible_engagement(actor: User, engagement_id: int) -> Engagement:
    """The engagement if `actor` may see it; NotFound otherwise."""
    return get_visible_engagement(db.session, actor, engagement_id)


def visible_part(actor: User, model, row_id: int):
    """A row of an engagement (checklist item, milestone, member) `actor` may see."""
    row = db.session.get(model, row_id)
    if row is None:
        raise NotFound(f"{model.__name__} not found.")
    get_visible_engagement(db.session, actor, row.engagement_id)
    return row


def checklists_by_kind(engagement_id: int) -> dict[str, list[ChecklistItem]]:
    items = db.session.scalars(
        select(ChecklistItem)
        .where(ChecklistItem.engagement_id == engagement_id)
        .options(joinedload(ChecklistItem.owner), joinedload(ChecklistItem.completed_by))
        .order_by(ChecklistItem.kind, ChecklistItem.position, ChecklistItem.id)
    ).all()
    grouped: dict[str, list[ChecklistItem]] = {kind.value: [] for kind in ChecklistKind}
    for item in items:
        grouped.setdefault(item.kind, []).append(item)
    return grouped


def milestones_with_updates(engagement_id: int) -> list[Milestone]:
    return list(
        db.session.scalars(
            select(Milestone)
            .where(Milestone.engagement_id == engagement_id, Milestone.removed_at.is_(None))
            .options(
                selectinload(Milestone.updates).joinedload(MilestoneUpdate.author),
                joinedload(Milestone.verdict_by),
            )
            .order_by(Milestone.period, Milestone.due_date, Milestone.id)
        )
    )


def recent_audit(engagement_id: int, limit: int) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.engagement_id == engagement_id)
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
    )
