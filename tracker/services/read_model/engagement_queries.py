"""One engagement (or one of its milestones) for one user, and its audit timeline.

Part of the engagement read model (the package docstring lists the rest): what the
page's forms read is in `engagement_page`, lists of engagements in `engagement_list`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import joinedload

from tracker.auth.permissions import (
    Action,
    can,
    get_visible_engagement,
    visibility_rule,
    visible_clause_for,
)
from tracker.errors import NotFound
from tracker.extensions import db
from tracker.models import AuditEvent, Engagement, Milestone, User
from tracker.services.core.audit import audience_clause


@dataclass(frozen=True)
class Page:
    """One page of results and where it sits in the whole."""

    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def meta(self) -> dict:
        return {
            "page": self.page,
            "per_page": self.per_page,
            "total": self.total,
            "pages": self.pages,
        }


def get_engagement(actor: User, engagement_id: int) -> Engagement:
    """One engagement the user may see (404 otherwise), with what its page shows."""
    rule, params = visibility_rule(actor)
    engagement = db.session.scalar(_PAGE[rule], {"engagement_id": engagement_id, **params})
    if engagement is None:
        return get_visible_engagement(db.session, actor, engagement_id)  # raises NotFound
    return engagement


# The page's statement per visibility rule, built once (its cache key is kept, ADR 0258).
_PAGE = {
    rule: select(Engagement)
    .where(Engagement.id == bindparam("engagement_id"), visible_clause_for(rule))
    .options(
        joinedload(Engagement.provider),
        joinedload(Engagement.owner),
        joinedload(Engagement.technical_contact),
        joinedload(Engagement.health_override_by),
    )
    for rule in ("all", "provider", "followed")
}


def _reference(relationship):
    """A related person or provider as the API names it: id and name, nothing else."""
    target = relationship.property.mapper.class_
    return joinedload(relationship).load_only(target.id, target.name)


# The detail's query, its options built once: the API shows each person only by name.
_DETAIL_OPTIONS = (
    _reference(Engagement.provider),
    _reference(Engagement.owner),
    _reference(Engagement.technical_contact),
    _reference(Engagement.health_override_by),
)


def engagement_detail(actor: User, engagement_id: int) -> Engagement:
    """One engagement the user may see (404 otherwise) for GET /api/v1/engagements/{id}:
    its people and provider read as id and name only, in the same single statement."""
    rule, params = visibility_rule(actor)
    engagement = db.session.scalar(_DETAIL[rule], {"engagement_id": engagement_id, **params})
    if engagement is None:
        return get_visible_engagement(db.session, actor, engagement_id)  # raises NotFound
    return engagement


# The detail's statement per visibility rule, built once (its cache key is kept).
_DETAIL = {
    rule: select(Engagement)
    .where(Engagement.id == bindparam("engagement_id"), visible_clause_for(rule))
    .options(*_DETAIL_OPTIONS)
    for rule in ("all", "provider", "followed")
}


def audit_timeline(actor: User, engagement_id: int, page: int = 1, per_page: int = 50) -> Page:
    """The engagement's audit trail, newest first, one page of it."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    where = (AuditEvent.engagement_id == engagement.id) & audience_clause(
        can(actor, Action.VIEW_COST, engagement)
    )
    total = db.session.scalar(select(func.count(AuditEvent.id)).where(where))
    rows = db.session.scalars(
        select(AuditEvent)
        .where(where)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return Page(list(rows), page, per_page, total or 0)


def get_milestone(actor: User, milestone_id: int) -> Milestone:
    """One milestone of an engagement the user may see (404 for anything else)."""
    milestone = db.session.get(Milestone, milestone_id)
    if milestone is None or milestone.removed_at is not None:
        raise NotFound("Milestone not found.")
    get_visible_engagement(db.session, actor, milestone.engagement_id, "Milestone not found.")
    return milestone
