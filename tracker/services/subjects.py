"""Turning an engagement's rows into the plain-data Subject the workflow engine judges."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from tracker.extensions import db
from tracker.models import (
    Adr,
    Artifact,
    ChecklistItem,
    Engagement,
    Milestone,
    ShadowAssignment,
    TeamMember,
    User,
)
from workflows import (
    AdrFact,
    ArtifactFact,
    ChecklistFact,
    MemberFact,
    MilestoneFact,
    ShadowFact,
    Subject,
)
from workflows.subject import DATE_KEYS


def _rows(model, engagement_id: int, *options):
    query = select(model).where(model.engagement_id == engagement_id).options(*options)
    return db.session.scalars(query.order_by(model.id)).all()


def _checklist_facts(engagement_id: int) -> tuple[ChecklistFact, ...]:
    items = _rows(ChecklistItem, engagement_id, selectinload(ChecklistItem.owner))
    return tuple(
        ChecklistFact(
            id=i.id,
            kind=i.kind,
            title=i.title,
            status=i.status,
            owner_name=i.owner.name if i.owner else None,
            due_date=i.due_date,
            key=i.key,
        )
        for i in items
    )


def _knowledge_facts(engagement_id: int) -> dict:
    shadows = _rows(ShadowAssignment, engagement_id, selectinload(ShadowAssignment.shadow))
    return {
        "shadows": tuple(
            ShadowFact(
                id=s.id,
                member_id=s.member_id,
                shadow_name=s.shadow.name if isinstance(s.shadow, User) else "",
                areas=tuple(s.areas or ()),
                signed_off=s.is_signed_off,
            )
            for s in shadows
        ),
        "adrs": tuple(
            AdrFact(id=a.id, number=a.number, title=a.title, status=a.status)
            for a in _rows(Adr, engagement_id)
        ),
        "artifacts": tuple(
            ArtifactFact(id=a.id, kind=a.kind, title=a.title)
            for a in _rows(Artifact, engagement_id)
        ),
    }


def _handover_facts(engagement_id: int, members) -> dict:
    """Drills, access entries and the exit confirmations (services/handover/facts.py)."""
    from tracker.services.handover.facts import handover_facts

    return handover_facts([engagement_id], {m.id: m.name for m in members})[engagement_id]


def build_subject(engagement: Engagement, today: date) -> Subject:
    """Read every fact the engine's guards may need, fresh from the database."""
    milestones = [m for m in _rows(Milestone, engagement.id) if m.removed_at is None]
    contact_id = engagement.technical_contact_id
    contact = db.session.get(User, contact_id) if contact_id is not None else None
    members = _rows(TeamMember, engagement.id)
    return Subject(
        state=engagement.state,
        today=today,
        checklist=_checklist_facts(engagement.id),
        milestones=tuple(
            MilestoneFact(
                id=m.id,
                title=m.title,
                due_date=m.due_date,
                status=m.status,
                success_criteria=m.success_criteria or "",
                period=m.period,
            )
            for m in milestones
        ),
        members=tuple(
            MemberFact(id=m.id, name=m.name, is_external=m.is_external, areas=tuple(m.areas or ()))
            for m in members
        ),
        current_period=engagement.current_period,
        dates={key: getattr(engagement, key) for key in DATE_KEYS},
        technical_contact=contact.name if contact is not None else None,
        paused_from=engagement.paused_from_state,
        problem_statement=engagement.problem_statement or "",
        **_knowledge_facts(engagement.id),
        **_handover_facts(engagement.id, members),
    )
