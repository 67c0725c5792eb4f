"""What the engagement page's Evidence section and the scorecard read, in a fixed number of
queries whatever the number of measurements: metrics, their series, targets judged."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import bindparam, inspect, select

from tracker.auth.permissions import Action, can
from tracker.extensions import db
from tracker.models import (
    Engagement,
    MetricKind,
    Milestone,
    MilestoneUpdate,
    SuccessMetric,
    User,
)
from tracker.services.evidence import reads
from tracker.services.evidence.judgment import (
    PeriodSummary,
    Point,
    SuggestedVerdict,
    TargetStatus,
    period_summary,
)
from tracker.services.milestone_status import TargetEvidence
from tracker.services.workflow.subjects import EvidenceRows, target_rows


@dataclass(frozen=True)
class TargetLine:
    """One milestone's target for a metric, for the chart's steps and the scorecard."""

    milestone_id: int
    title: str
    due_date: date
    period: int
    target: float


@dataclass
class MetricView:
    """A metric with its series thinned for drawing (`count` is how many there really are)."""

    metric: SuccessMetric
    points: list[Point] = field(default_factory=list)
    targets: list[TargetLine] = field(default_factory=list)
    count: int = 0

    @property
    def latest(self) -> Point | None:
        return self.points[-1] if self.points else None


@dataclass
class MilestoneEvidence:
    """A milestone with its targets judged, the suggestion, and the final verdict's reason."""

    milestone: Milestone
    targets: list[TargetStatus]
    suggestion: SuggestedVerdict
    verdict_reason: str | None = None
    # every target (cost ones without figures for who may not see cost), as the evidence
    # the milestone's displayed status weighs against the provider's claim
    claims: list[TargetEvidence] = field(default_factory=list)
    # every target judged, cost ones too whoever looks: what the period's count weighs
    every: list[TargetStatus] = field(default_factory=list)


@dataclass
class EvidenceView:
    metrics: list[MetricView]
    milestones: list[MilestoneEvidence]
    current_period: int = 0

    def summary(self, today: date) -> PeriodSummary:
        """The current period's targets met with its milestones missed or overdue beside
        them: the dashboard's line (ADR 0240), over the same milestones and the same
        targets, cost ones counted without their figures, so both pages give one count."""
        period = [m for m in self.milestones if m.milestone.period == self.current_period]
        targets = [t for m in period for t in m.every]
        facts = [(m.milestone.status, m.milestone.due_date) for m in period]
        return period_summary(targets, facts, today)


def _metrics(engagement: Engagement, with_cost: bool, rows=None) -> list[SuccessMetric]:
    if rows is not None:  # the engagement page's rows, every live metric by id
        return [m for m in rows.metrics if with_cost or m.kind != MetricKind.COST]
    query = select(SuccessMetric).where(
        SuccessMetric.engagement_id == engagement.id, SuccessMetric.removed_at.is_(None)
    )
    if not with_cost:
        query = query.where(SuccessMetric.kind != MetricKind.COST)
    return list(db.session.scalars(query.order_by(SuccessMetric.id)))


def _target_lines(engagement_id: int, rows=None) -> dict[int, list[TargetLine]]:
    """metric id -> its targets on live milestones, by due date."""
    targets = target_rows(engagement_id) if rows is None else rows.targets
    lines: dict[int, list[TargetLine]] = defaultdict(list)
    for metric_id, milestone_id, title, due_date, period, target, removed_at in targets:
        if removed_at is None:
            lines[metric_id].append(TargetLine(milestone_id, title, due_date, period, target))
    return lines


def _verdict_reasons_of(milestones: list[Milestone]) -> dict[int, str]:
    """milestone id -> the reason written with its latest verdict: from the milestones'
    updates when every one has them loaded (the engagement page reads them for its status
    histories; one statement fewer, ADR 0258), else in one query."""
    if not milestones:
        return {}
    if any("updates" in inspect(m).unloaded for m in milestones):
        return _verdict_reasons([m.id for m in milestones])
    found: dict[int, str] = {}
    for m in milestones:
        written = [u for u in m.updates if u.reason is not None]
        if written:
            found[m.id] = max(written, key=lambda u: (u.created_at, u.id)).reason
    return found


def _verdict_reasons(milestone_ids: list[int]) -> dict[int, str]:
    """milestone id -> the reason written with its latest verdict (one query)."""
    found: dict[int, str] = {}
    params = {"milestone_ids": list(milestone_ids)}
    for milestone_id, reason in db.session.execute(_VERDICT_REASONS, params):
        found[milestone_id] = reason
    return found


# Built once, the ids an expanding parameter: it keeps its cache key (issue 29, ADR 0258).
_VERDICT_REASONS = (
    select(MilestoneUpdate.milestone_id, MilestoneUpdate.reason)
    .where(MilestoneUpdate.milestone_id.in_(bindparam("milestone_ids", expanding=True)))
    .where(MilestoneUpdate.reason.is_not(None))
    .order_by(MilestoneUpdate.created_at, MilestoneUpdate.id)
)


def evidence_view(
    engagement: Engagement,
    milestones: list[Milestone],
    viewer: User,
    today: date,
    rows: EvidenceRows | None = None,
) -> EvidenceView:
    """Metrics with their series and targets, and each milestone judged (six queries, four
    with the metrics and targets the engagement page has read already: `rows`)."""
    with_cost = can(viewer, Action.VIEW_COST, engagement)
    metrics = _metrics(engagement, with_cost, rows)
    series = reads.series(m.id for m in metrics)
    lines = _target_lines(engagement.id, rows)
    views = []
    for m in metrics:
        points, count = series.get(m.id, ([], 0))
        views.append(MetricView(m, points, lines.get(m.id, []), count))
    judged = reads.target_statuses(m.id for m in milestones)
    reasons = _verdict_reasons_of(milestones)
    shown = {m.id for m in metrics}
    evidence = []
    for m in milestones:
        every = judged.get(m.id, [])
        visible = [t for t in every if t.metric_id in shown]
        suggestion = reads.suggestion_for_viewer(every, visible, m, today)
        claims = reads.as_claim_evidence(every, with_cost=with_cost)
        evidence.append(MilestoneEvidence(m, visible, suggestion, reasons.get(m.id), claims, every))
    return EvidenceView(views, evidence, engagement.current_period)
