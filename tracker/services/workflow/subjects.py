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
    MilestoneTarget,
    ShadowAssignment,
    SuccessMetric,
    TeamMember,
    User,
)
from tracker.services.handover.facts import handover_facts
from workflows import (
    AdrFact,
    ArtifactFact,
    ChecklistFact,
    MemberFact,
    MetricFact,
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


def _evidence_facts(engagement_id: int) -> tuple[tuple[MetricFact, ...], dict[int, tuple]]:
    """The live success metrics, and milestone id -> metric ids it has a target for."""
    metrics = db.session.execute(
        select(SuccessMetric.id, SuccessMetric.name, SuccessMetric.baseline).where(
            SuccessMetric.engagement_id == engagement_id, SuccessMetric.removed_at.is_(None)
        )
    ).all()
    live = {m.id for m in metrics}
    targets: dict[int, list[int]] = {}
    for milestone_id, metric_id in db.session.execute(
        select(MilestoneTarget.milestone_id, MilestoneTarget.metric_id)
        .join(Milestone, Milestone.id == MilestoneTarget.milestone_id)
        .where(Milestone.engagement_id == engagement_id)
        .order_by(MilestoneTarget.metric_id)
    ):
        if metric_id in live:
            targets.setdefault(milestone_id, []).append(metric_id)
    facts = tuple(MetricFact(m.id, m.name, m.baseline is not None) for m in metrics)
    return facts, {k: tuple(v) for k, v in targets.items()}


def _handover_facts(engagement_id: int, members) -> dict:
    """Drills, access entries and the exit confirmations (services/handover/facts.py)."""
    return handover_facts([engagement_id], {m.id: m.name for m in members})[engagement_id]


def build_subject(engagement: Engagement, today: date) -> Subject:
    """Read every fact the engine's guards may need, fresh from the database."""
    milestones = [m for m in _rows(Milestone, engagement.id) if m.removed_at is None]
    metrics, targets = _evidence_facts(engagement.id)
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
                targets=targets.get(m.id, ()),
            )
            for m in milestones
        ),
        members=tuple(
            MemberFact(
                id=m.id,
                name=m.name,
                is_external=m.is_external,
                areas=tuple(m.areas or ()),
                end_date=m.end_date,
            )
            for m in members
        ),
        metrics=metrics,
        current_period=engagement.current_period,
        dates={key: getattr(engagement, key) for key in DATE_KEYS},
        technical_contact=contact.name if contact is not None else None,
        paused_from=engagement.paused_from_state,
        problem_statement=engagement.problem_statement or "",
        **_knowledge_facts(engagement.id),
        **_handover_facts(engagement.id, members),
    )
