"""Turning an engagement's rows into the plain-data Subject the workflow engine judges."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, select
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


@dataclass(frozen=True)
class EvidenceRows:
    """An engagement's live success metrics (by id) and every target on its milestones
    (metric id, milestone id, title, due date, period, target, the milestone's removal),
    by due date: what the guards' facts and the page's Evidence card are both read from."""

    metrics: Sequence[SuccessMetric]
    targets: Sequence


# Both statements built once, the engagement a bound parameter: they keep their cache
# keys (issue 29, ADR 0258).
_METRICS = (
    select(SuccessMetric)
    .where(
        SuccessMetric.engagement_id == bindparam("engagement_id"),
        SuccessMetric.removed_at.is_(None),
    )
    .order_by(SuccessMetric.id)
)
_TARGETS = (
    select(MilestoneTarget.metric_id, Milestone.id, Milestone.title, Milestone.due_date)
    .add_columns(Milestone.period, MilestoneTarget.target, Milestone.removed_at)
    .join(Milestone, Milestone.id == MilestoneTarget.milestone_id)
    .where(Milestone.engagement_id == bindparam("engagement_id"))
    .order_by(Milestone.due_date, Milestone.id, MilestoneTarget.metric_id)
)


def evidence_rows(engagement_id: int) -> EvidenceRows:
    """Two statements, whatever the number of metrics and milestones."""
    metrics = db.session.scalars(_METRICS, {"engagement_id": engagement_id}).all()
    return EvidenceRows(metrics, target_rows(engagement_id))


def target_rows(engagement_id: int) -> list:
    """Every target on the engagement's milestones, removed ones too, by due date."""
    return db.session.execute(_TARGETS, {"engagement_id": engagement_id}).all()


def evidence_facts_of(rows: EvidenceRows) -> tuple[tuple[MetricFact, ...], dict[int, tuple]]:
    """The live success metrics, and milestone id -> metric ids it has a target for."""
    live = {m.id for m in rows.metrics}
    targets: dict[int, list[int]] = {}
    for metric_id, milestone_id, *_rest in rows.targets:
        if metric_id in live:
            targets.setdefault(milestone_id, []).append(metric_id)
    facts = tuple(MetricFact(m.id, m.name, m.baseline is not None) for m in rows.metrics)
    return facts, {k: tuple(sorted(v)) for k, v in targets.items()}


def evidence_facts(engagement_id: int) -> tuple[tuple[MetricFact, ...], dict[int, tuple]]:
    """The live success metrics, and milestone id -> metric ids it has a target for."""
    return evidence_facts_of(evidence_rows(engagement_id))


@dataclass(frozen=True)
class SubjectRows:
    """The rows a Subject is read from, already loaded (by `build_subject` or by the
    engagement page's read model, which shows the same rows it hands the guards)."""

    milestones: Sequence[Milestone]  # removed ones are left out here
    checklist: Sequence[ChecklistItem]  # every kind, with the owner loaded
    members: Sequence[TeamMember]
    shadows: Sequence[ShadowAssignment]  # with the shadow loaded
    adrs: Sequence[Adr]
    artifacts: Sequence[Artifact]
    evidence: tuple  # evidence_facts(): (metric facts, milestone id -> metric ids)
    handover: dict  # handover_facts() of this engagement: drills, access, exit


def load_rows(engagement: Engagement) -> SubjectRows:
    """Every row the engine's guards may need, fresh from the database (13 statements)."""
    members = _rows(TeamMember, engagement.id)
    return SubjectRows(
        milestones=_rows(Milestone, engagement.id),
        checklist=_rows(ChecklistItem, engagement.id, selectinload(ChecklistItem.owner)),
        members=members,
        shadows=_rows(ShadowAssignment, engagement.id, selectinload(ShadowAssignment.shadow)),
        adrs=_rows(Adr, engagement.id),
        artifacts=_rows(Artifact, engagement.id),
        evidence=evidence_facts(engagement.id),
        handover=handover_facts([engagement.id], {m.id: m.name for m in members})[engagement.id],
    )


def build_subject(engagement: Engagement, today: date) -> Subject:
    """Read every fact the engine's guards may need, fresh from the database."""
    return subject_from(engagement, today, load_rows(engagement))


def _by_id(rows: Iterable) -> list:
    return sorted(rows, key=lambda row: row.id)


def subject_from(engagement: Engagement, today: date, rows: SubjectRows) -> Subject:
    """The Subject of these rows (pure: no statement beyond the technical contact, which
    the engagement's page and the session usually hold already). Lists are in id order
    whatever order the rows came in, so the unmet requirements read the same either way."""
    metrics, targets = rows.evidence
    contact_id = engagement.technical_contact_id
    contact = db.session.get(User, contact_id) if contact_id is not None else None
    return Subject(
        state=engagement.state,
        today=today,
        checklist=tuple(
            ChecklistFact(
                id=i.id,
                kind=i.kind,
                title=i.title,
                status=i.status,
                owner_name=i.owner.name if i.owner else None,
                due_date=i.due_date,
                key=i.key,
            )
            for i in _by_id(rows.checklist)
        ),
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
            for m in _by_id(rows.milestones)
            if m.removed_at is None
        ),
        members=tuple(
            MemberFact(
                id=m.id,
                name=m.name,
                is_external=m.is_external,
                areas=tuple(m.areas or ()),
                end_date=m.end_date,
            )
            for m in _by_id(rows.members)
        ),
        metrics=metrics,
        current_period=engagement.current_period,
        dates={key: getattr(engagement, key) for key in DATE_KEYS},
        technical_contact=contact.name if contact is not None else None,
        paused_from=engagement.paused_from_state,
        problem_statement=engagement.problem_statement or "",
        shadows=tuple(
            ShadowFact(
                id=s.id,
                member_id=s.member_id,
                shadow_name=s.shadow.name if isinstance(s.shadow, User) else "",
                areas=tuple(s.areas or ()),
                signed_off=s.is_signed_off,
            )
            for s in _by_id(rows.shadows)
        ),
        adrs=tuple(
            AdrFact(id=a.id, number=a.number, title=a.title, status=a.status)
            for a in _by_id(rows.adrs)
        ),
        artifacts=tuple(
            ArtifactFact(id=a.id, kind=a.kind, title=a.title) for a in _by_id(rows.artifacts)
        ),
        **rows.handover,
    )
