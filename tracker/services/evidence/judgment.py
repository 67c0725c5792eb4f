"""The one judgment of evidence: a target's status and a milestone's suggested verdict.

Pure functions over plain data (docs/adr/0185). A target is judged from the latest
measurement taken on or before the milestone's due date; before the due date that is
simply the latest so far, since no measurement lies in the future. A milestone's
suggested verdict is met when every target is met, missed when its due date has passed
and a target is not met (or has no measurement), undecided otherwise. The API, the
pages, the digests and health all read `suggest_verdict`; nothing else judges.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

MET, NOT_MET, NO_DATA = "met", "not_met", "no_data"
VERDICT_MET, VERDICT_MISSED, UNDECIDED = "met", "missed", "undecided"


@dataclass(frozen=True)
class Point:
    """One effective (not superseded) measurement."""

    measured_at: datetime
    value: float


@dataclass(frozen=True)
class TargetStatus:
    """One target of a milestone, judged."""

    metric_id: int
    name: str
    unit: str
    direction: str
    target: float
    latest: float | None
    latest_at: datetime | None
    status: str
    kind: str = "other"

    @property
    def sentence(self) -> str:
        """The target in words: "p95 latency: 2,300 ms against ≤ 2,000 ms"."""
        sign = "≥" if self.direction == "higher" else "≤"
        goal = f"{sign} {number(self.target)}{_unit(self.unit)}"
        if self.latest is None:
            return f"{self.name}: no measurement yet (target {goal})"
        return f"{self.name}: {number(self.latest)}{_unit(self.unit)} against {goal}"


@dataclass(frozen=True)
class SuggestedVerdict:
    """What the evidence says of a milestone, and why."""

    verdict: str
    reasons: tuple[str, ...]


def number(value: float) -> str:
    """A value for people: thousands separated, at most four significant decimals."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.4f}".rstrip("0").rstrip(".")


def _unit(unit: str) -> str:
    if not unit:
        return ""
    return unit if unit in ("%", "pp") else f" {unit}"


def meets(direction: str, value: float, target: float) -> bool:
    """Whether a value reaches the target in the metric's better direction."""
    return value >= target if direction == "higher" else value <= target


def latest_by(points: Iterable[Point], due: date) -> Point | None:
    """The latest point measured on or before the due day (UTC), or None."""
    eligible = [p for p in points if p.measured_at.date() <= due]
    return max(eligible, key=lambda p: p.measured_at, default=None)


def judge_target(
    *,
    metric_id: int,
    name: str,
    unit: str,
    direction: str,
    target: float,
    latest: Point | None,
    kind: str = "other",
) -> TargetStatus:
    """A target's status from its latest eligible measurement (see `latest_by`)."""
    if latest is None:
        status = NO_DATA
    else:
        status = MET if meets(direction, latest.value, target) else NOT_MET
    return TargetStatus(
        metric_id,
        name,
        unit,
        direction,
        target,
        latest.value if latest else None,
        latest.measured_at if latest else None,
        status,
        kind,
    )


def suggest_verdict(targets: Sequence[TargetStatus], due: date, today: date) -> SuggestedVerdict:
    """Met when every target is met; missed once due has passed with one short; else undecided."""
    if not targets:
        return SuggestedVerdict(
            UNDECIDED, ("No numeric targets: this milestone is judged by hand",)
        )
    short = [t for t in targets if t.status != MET]
    if not short:
        return SuggestedVerdict(VERDICT_MET, tuple(f"Met: {t.sentence}" for t in targets))
    if due < today:
        return SuggestedVerdict(
            VERDICT_MISSED,
            tuple(f"Not met by the due date: {t.sentence}" for t in short),
        )
    return SuggestedVerdict(UNDECIDED, tuple(f"Not met yet: {t.sentence}" for t in short))


@dataclass(frozen=True)
class PeriodSummary:
    """A period's targets in one line with what keeps it from reading as a success: the
    targets met, and beside them the milestones missed or overdue without a verdict (a
    milestone can be missed while every target is met: "targets met 9/9" alone said
    success beside a red "Day-60 milestone was missed")."""

    met: int
    targets: int
    missed: int = 0
    overdue: int = 0

    @property
    def shortfalls(self) -> tuple[str, ...]:
        """The reasons, in words, that the period is not a success (empty when none)."""
        found = []
        if self.missed:
            found.append(f"{self.missed} milestone{_plural(self.missed)} missed")
        if self.overdue:
            found.append(f"{self.overdue} overdue without a verdict")
        return tuple(found)

    @property
    def level(self) -> str:
        """red with a missed milestone, amber with an overdue one, else "met" when every
        target is met, "open" while some are not (yet)."""
        if self.missed:
            return "red"
        if self.overdue:
            return "amber"
        return "met" if self.met == self.targets else "open"


def period_summary(
    targets: Iterable[TargetStatus], milestones: Iterable[tuple[str, date]], today: date
) -> PeriodSummary:
    """The one judgment of a period's line: its judged targets and its milestones
    (status, due date); a milestone missed, or past due with no verdict, is a shortfall."""
    judged = list(targets)
    missed = overdue = 0
    for status, due in milestones:
        missed += status == VERDICT_MISSED
        overdue += status not in (VERDICT_MET, VERDICT_MISSED) and due < today
    met = sum(1 for t in judged if t.status == MET)
    return PeriodSummary(met, len(judged), missed, overdue)


def _plural(count: int) -> str:
    return "" if count == 1 else "s"


def against_evidence(verdict: str, targets: Sequence[TargetStatus]) -> str | None:
    """Why a verdict contradicts the measurements, or None when it does not.

    Met while any target's latest value misses it; missed while every target is met."""
    if verdict == VERDICT_MET:
        missing = [t for t in targets if t.status == NOT_MET]
        if missing:
            return "met while " + "; ".join(t.sentence for t in missing)
    if verdict == VERDICT_MISSED and targets and all(t.status == MET for t in targets):
        return "missed while every target is met"
    return None
