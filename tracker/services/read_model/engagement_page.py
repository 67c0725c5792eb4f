"""What the engagement page and the forms on it read, each in one query (no per-row loads).

Part of the engagement read model (the package docstring lists the rest). The page itself
is assembled in `tracker.web.overview`. What takes an actor answers NotFound for what the
actor may not see, exactly as for what does not exist.
"""

from __future__ import annotations

from sqlalchemy import select, true
from sqlalchemy.orm import joinedload, selectinload

from tracker.auth.permissions import get_visible_engagement
from tracker.errors import NotFound
from tracker.extensions import db
from tracker.models import (
    CLIENT_ONLY_KEYS,
    AuditEvent,
    ChecklistItem,
    ChecklistKind,
    Engagement,
    Milestone,
    MilestoneUpdate,
    User,
)
from tracker.services.core.audit import audience_clause


def visible_engagement(actor: User, engagement_id: int, missing: str | None = None) -> Engagement:
    """The engagement if `actor` may see it; NotFound (saying `missing`) otherwise."""
    return get_visible_engagement(
        db.session, actor, engagement_id, missing or "Engagement not found."
    )


def visible_part(actor: User, model, row_id: int):
    """A row of an engagement (checklist item, milestone, member) `actor` may see."""
    row = db.session.get(model, row_id)
    missing = f"{model.__name__} not found."  # the same answer whether absent or invisible
    if row is None:
        raise NotFound(missing)
    get_visible_engagement(db.session, actor, row.engagement_id, missing)
    return row


def checklists_by_kind(
    engagement_id: int, *, client_only: bool = True
) -> dict[str, list[ChecklistItem]]:
    """The items by checklist; `client_only=False` leaves out the client's own items (the
    hiring evaluation) for who may not see cost."""
    audience = (
        true()
        if client_only
        else ChecklistItem.key.is_(None) | ChecklistItem.key.not_in(CLIENT_ONLY_KEYS)
    )
    items = db.session.scalars(
        select(ChecklistItem)
        .where(ChecklistItem.engagement_id == engagement_id, audience)
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


def recent_audit(engagement_id: int, limit: int, can_view_cost: bool) -> list[AuditEvent]:
    """The newest entries this audience may read (cost changes only for the client side)."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.engagement_id == engagement_id, audience_clause(can_view_cost))
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
    )
