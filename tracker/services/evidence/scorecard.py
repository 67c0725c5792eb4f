"""The trial scorecard: per period, each milestone × target with baseline → target, the
latest value, its trend, the suggested and the final verdict with its reason.

Built from `page.evidence_view` (a fixed number of queries whatever the number of
measurements); the judgment is the one in `judgment.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tracker.models import FINAL_MILESTONE_STATUSES, Engagement, User
from tracker.services.evidence.judgment import Point, TargetStatus, latest_by, number
from tracker.services.evidence.page import EvidenceView, MilestoneEvidence, evidence_view
from tracker.services.read_model import engagement_page


@dataclass(frozen=True)
class ScoreRow:
    target: TargetStatus
    baseline: float | None
    trend: str  # "improving", "worsening", "flat" or "" (fewer than two points)

    @property
    def baseline_text(self) -> str:
        return number(self.baseline) if self.baseline is not None else "—"


@dataclass(frozen=True)
class ScoreMilestone:
    evidence: MilestoneEvidence
    rows: tuple[ScoreRow, ...]

    @property
    def final_verdict(self) -> str | None:
        status = self.evidence.milestone.status
        return status if status in FINAL_MILESTONE_STATUSES else None


@dataclass(frozen=True)
class Scorecard:
    engagement: Engagement
    periods: tuple[tuple[str, tuple[ScoreMilestone, ...]], ...]
    view: EvidenceView


def trend(points: list[Point], due: date, direction: str) -> str:
    """Whether the last two measurements by the due date moved the better way.

    Reads the page's series: the newest ten points are always there, so the trend of a
    milestone still ahead is exact; for one long past, the two nearest drawn points."""
    eligible = [p for p in points if p.measured_at.date() <= due]
    if len(eligible) < 2:
        return ""
    last = latest_by(eligible, due)
    before = latest_by([p for p in eligible if p is not last], due)
    if last.value == before.value:
        return "flat"
    rising = last.value > before.value
    return "improving" if rising == (direction == "higher") else "worsening"


def build(actor: User, engagement_id: int, today: date) -> Scorecard:
    """The scorecard of an engagement the actor may see (NotFound otherwise)."""
    engagement = engagement_page.visible_engagement(actor, engagement_id)
    milestones = engagement_page.milestones_with_updates(engagement.id)
    view = evidence_view(engagement, milestones, actor, today)
    by_metric = {v.metric.id: v for v in view.metrics}
    periods: dict[int, list[ScoreMilestone]] = {}
    for item in view.milestones:
        rows = []
        for t in item.targets:
            metric_view = by_metric.get(t.metric_id)
            points = metric_view.points if metric_view else []
            baseline = metric_view.metric.baseline if metric_view else None
            due = item.milestone.due_date
            rows.append(ScoreRow(t, baseline, trend(points, due, t.direction)))
        periods.setdefault(item.milestone.period, []).append(ScoreMilestone(item, tuple(rows)))
    labelled = tuple(
        ("Trial" if period == 0 else f"Extension {period}", tuple(found))
        for period, found in sorted(periods.items())
    )
    return Scorecard(engagement, labelled, view)
