"""Which ids the query-count tests probe, and how big the data they probe is.

Items are picked one per distinct number of child rows (an ADR with 2, 4 and
7 revisions; a shadow with 2 and 4 sessions …), so comparing their statement
counts shows whether a page or endpoint queries once per child row.
"""

from __future__ import annotations

from sqlalchemy import func, select, true

from tracker.extensions import db
from tracker.models import (
    Adr,
    AdrRevision,
    ApiToken,
    Artifact,
    AuditEvent,
    ChangeRequest,
    ChecklistItem,
    Engagement,
    HealthChange,
    Milestone,
    MilestoneUpdate,
    OutboxEmail,
    ShadowAssignment,
    ShadowSession,
    Subscription,
    TeamMember,
    User,
    subscription_engagement,
)
from tracker.services.messaging.subscriptions import unsubscribe_token

RICH_STATES = ("extension", "knowledge_transfer")  # every kind of child row exists there
PER_ENGAGEMENT = {"milestones": Milestone, "ADRs": Adr, "shadows": ShadowAssignment}
PER_ENGAGEMENT |= {"audit events": AuditEvent, "health changes": HealthChange}


def _one_per_count(rows) -> list[int]:
    """Ids of (id, child count) rows, one per distinct count: items of different sizes."""
    seen: dict[int, int] = {}
    for row_id, count in rows:
        seen.setdefault(count, row_id)
    return sorted(seen.values())


def _sized(model, child_fk, where) -> list[int]:
    query = (
        select(model.id, func.count(child_fk))
        .join_from(model, child_fk.table, child_fk == model.id)
        .where(where)
        .group_by(model.id)
        .order_by(model.id)
    )
    return _one_per_count(db.session.execute(query).all())


def item_ids(app, engagement_groups: list[list[int]]) -> dict[str, list[list]]:
    """kind -> groups of ids to probe: the engagements given, and items of different sizes."""
    engagements = [e for group in engagement_groups for e in group]

    def under(model):
        return model.engagement_id.in_(engagements)

    def first(model, n: int):
        return select(model.id).where(under(model)).order_by(model.id).limit(n)

    with app.app_context():
        subscriptions = _sized(Subscription, subscription_engagement.c.subscription_id, true())
        ids = {
            "engagement": engagement_groups,
            "milestone": [_sized(Milestone, MilestoneUpdate.milestone_id, under(Milestone))],
            "adr": [_sized(Adr, AdrRevision.adr_id, under(Adr))],
            "shadow": [
                _sized(ShadowAssignment, ShadowSession.assignment_id, under(ShadowAssignment))
            ],
            "member": [list(db.session.scalars(first(TeamMember, 3)))],
            "checklist_item": [list(db.session.scalars(first(ChecklistItem, 3)))],
            "artifact": [list(db.session.scalars(first(Artifact, 3)))],
            "subscription": [subscriptions],
            "unsubscribe": [[unsubscribe_token(s) for s in subscriptions]],
            "email": [list(db.session.scalars(select(OutboxEmail.id).order_by("id").limit(2)))],
            # organisations with different numbers of engagements under them
            "provider": [
                list(
                    db.session.scalars(
                        select(Engagement.provider_id)
                        .where(Engagement.id.in_(engagements))
                        .distinct()
                        .order_by(Engagement.provider_id)
                        .limit(3)
                    )
                )
            ],
        }
        db.session.remove()
    return ids


def rich_engagements_by_state(app) -> list[list[int]]:
    """Engagements of RICH_STATES grouped by state; within a group their child rows differ."""
    with app.app_context():
        rows = db.session.execute(
            select(Engagement.state, Engagement.id)
            .where(Engagement.state.in_(RICH_STATES))
            .order_by(Engagement.state, Engagement.id)
        ).all()
        groups: dict[str, list[int]] = {}
        for state, engagement_id in rows:
            groups.setdefault(state, []).append(engagement_id)
        for state, group in groups.items():
            for kind, model in PER_ENGAGEMENT.items():
                counts = db.session.scalars(
                    select(func.count(model.id))
                    .where(model.engagement_id.in_(group))
                    .group_by(model.engagement_id)
                ).all()
                assert len(set(counts)) >= 2, f"{state} engagements all have {counts} {kind}"
        db.session.remove()
    assert len(groups) == len(RICH_STATES), groups
    return list(groups.values())


def provider_email(app) -> str:
    """A provider user of the first extension engagement (open milestones on /my-milestones)."""
    with app.app_context():
        email = db.session.scalar(
            select(User.email)
            .join(Engagement, Engagement.provider_id == User.provider_id)
            .where(Engagement.state == "extension")
            .order_by(Engagement.id, User.id)
        )
        db.session.remove()
    return email


def sizes(app, provider: str) -> dict[str, int]:
    """How many rows of each kind the probed pages and endpoints could show."""
    provider_org = select(User.provider_id).where(User.email == provider).scalar_subquery()
    counted = {
        "engagements": select(func.count(Engagement.id)),
        "the provider's engagements": select(func.count(Engagement.id)).where(
            Engagement.provider_id == provider_org
        ),
        "tokens": select(func.count(ApiToken.id)),
        "subscriptions": select(func.count(Subscription.id)),
        "outbox emails": select(func.count(OutboxEmail.id)),
        "artifacts": select(func.count(Artifact.id)),
        "ADR revisions": select(func.count(AdrRevision.id)),
        "milestone updates": select(func.count(MilestoneUpdate.id)),
        "audit events": select(func.count(AuditEvent.id)),
        "health changes": select(func.count(HealthChange.id)),
        "change requests": select(func.count(ChangeRequest.id)),
    }
    with app.app_context():
        found = {name: db.session.scalar(query) for name, query in counted.items()}
        db.session.remove()
    return found
