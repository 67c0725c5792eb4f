"""The portfolio: health over the last six months, spend per month, trials per quarter.

Computed by aggregate SQL over what is stored, a fixed number of statements whatever the
number of engagements (docs/adr/0221):
- health: each `health_change` row holds from its instant until the engagement's next
  row (LEAD over the engagement's rows) or its closing; a week's point counts the rows
  holding at the end of that day, per health: one statement, a column per week;
- spend: the accrual rule of `services.staffing.cost` (monthly cost per 30.4375 days from the
  trial's start until closing) cut at month boundaries, beside the sum of the monthly
  costs of the engagements running that month: one statement, per currency;
- trials: started and ended per quarter by their start and end dates, an ended trial's
  outcome from where the engagement went since (extended, closed with its outcome, or the
  phase it waits in): two statements.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import Integer, case, cast, extract, func, literal, select

from tracker.auth.permissions import Action, can
from tracker.extensions import db
from tracker.models import Engagement, HealthChange, User
from tracker.services.change_requests.drift import Drift, largest_drift
from tracker.services.portfolio.scope import engagement_ids, require_portfolio_viewer
from tracker.services.portfolio.sql_days import day_number, larger, smaller
from tracker.services.read_model.engagement_list import ListQuery
from tracker.services.staffing.cost import DAYS_PER_MONTH
from tracker.services.workflow import lifecycle

WEEKS = 26  # six months of weekly points, and today
MONTHS = 6
QUARTERS = 6
HEALTHS = ("green", "amber", "red")


DRIFT_ROWS = 10  # the portfolio's list of the engagements that drifted most


@dataclass(frozen=True)
class HealthPoint:
    """Live engagements by effective health at the end of `day`."""

    day: date
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class SpendMonth:
    """One calendar month: what accrued, and the monthly costs of what ran in it."""

    first: date
    spent: Decimal
    monthly_costs: Decimal
    partial: bool = False  # the running month, accrued up to today


@dataclass(frozen=True)
class TrialQuarter:
    """Trials started and ended in a quarter; ended ones by what came of them."""

    year: int
    quarter: int
    started: int = 0
    ended: dict[str, int] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"Q{self.quarter} {self.year}"

    @property
    def ended_total(self) -> int:
        return sum(self.ended.values())


@dataclass
class Portfolio:
    """What /portfolio shows."""

    query: ListQuery
    today: date
    health: list[HealthPoint]
    trials: list[TrialQuarter]
    spend: dict[str, list[SpendMonth]] | None = None  # currency -> months; None: hidden
    outcomes: list[str] = field(default_factory=list)  # the trial outcomes seen, in order
    # The engagements whose approved change requests moved them furthest, largest first.
    drift: list[tuple[Engagement, Drift]] = field(default_factory=list)


def build_portfolio(actor: User, query: ListQuery, today: date) -> Portfolio:
    """The figures over the engagements the actor may see that the filters select."""
    require_portfolio_viewer(actor)
    ids = engagement_ids(actor, query)
    trials = trials_by_quarter(ids, today)
    portfolio = Portfolio(query, today, health_history(ids, today), trials)
    portfolio.outcomes = _outcome_order(trials)
    portfolio.drift = largest_drift(actor, ids, limit=DRIFT_ROWS)
    if can(actor, Action.VIEW_COST):
        portfolio.spend = spend_by_month(ids, today)
    return portfolio


def sample_days(today: date) -> list[date]:
    """The weekly points of the last six months, oldest first, ending today."""
    return [today - timedelta(days=7 * k) for k in range(WEEKS, -1, -1)]


def health_history(ids, today: date) -> list[HealthPoint]:
    """Live engagements per effective health at the end of each sample day (one query).

    Each history row holds from its day until the day of the engagement's next row or its
    closing (LEAD over the engagement's rows); SQL turns that into the first and the
    last-plus-one weekly point it covers, and groups the rows by (health, first, end), so
    a few hundred groups come back whatever the number of rows; the points are then the
    running sums of those ranges.
    """
    days = sample_days(today)
    first_day = days[0]
    table = HealthChange.__table__
    following = func.lead(table.c.changed_at).over(
        partition_by=table.c.engagement_id, order_by=(table.c.changed_at, table.c.id)
    )
    held = (
        select(table.c.engagement_id, table.c.effective_health, table.c.changed_at)
        .add_columns(following.label("until"))
        .where(table.c.engagement_id.in_(ids))
        .subquery()
    )
    origin = day_number(literal(first_day))
    never = day_number(literal(today + timedelta(days=7)))
    began = cast(day_number(held.c.changed_at) - origin, Integer)
    ended = cast(
        smaller(
            func.coalesce(day_number(held.c.until), never),
            func.coalesce(day_number(Engagement.closed_at), never),
        )
        - origin,
        Integer,
    )
    # point k is day first_day + 7k: held at k when began <= 7k < ended
    first = (larger(began, 0) + 6) // 7
    end = smaller(larger(ended + 6, 0) // 7, len(days))
    statement = (
        select(held.c.effective_health, first, end, func.count())
        .join(Engagement, Engagement.id == held.c.engagement_id)
        .where(ended > 0)
        .group_by(held.c.effective_health, first, end)
    )
    steps = {health: [0] * (len(days) + 1) for health in HEALTHS}
    for health, start, stop, count in db.session.execute(statement):
        start, stop = int(start), int(stop)
        if start < stop:
            row = steps.setdefault(health, [0] * (len(days) + 1))
            row[start] += count
            row[stop] -= count
    points = []
    running = dict.fromkeys(steps, 0)
    for i, day in enumerate(days):
        for health in steps:
            running[health] += steps[health][i]
        points.append(HealthPoint(day, dict(running)))
    return points


def month_starts(today: date) -> list[date]:
    """The first days of the last MONTHS calendar months, oldest first, this one last."""
    firsts, year, month = [], today.year, today.month
    for _ in range(MONTHS):
        firsts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return firsts[::-1]


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def spend_by_month(ids, today: date) -> dict[str, list[SpendMonth]]:
    """Per currency and month: cost accrued in the month (up to today in the running one)
    and the monthly costs of the engagements that ran in it (one query)."""
    firsts = month_starts(today)
    start = day_number(Engagement.trial_start)
    end = case(
        (Engagement.closed_at.is_(None), day_number(literal(today))),
        else_=day_number(Engagement.closed_at),
    )
    columns = []
    for first in firsts:
        stop = min(_next_month(first), today)
        overlap = larger(
            0, smaller(end, day_number(literal(stop))) - larger(start, day_number(literal(first)))
        )
        columns.append(func.sum(Engagement.monthly_cost * overlap))
        columns.append(func.sum(case((overlap > 0, Engagement.monthly_cost), else_=0)))
    statement = (
        select(Engagement.currency, *columns)
        .where(Engagement.id.in_(ids), Engagement.trial_start.is_not(None))
        .where(Engagement.trial_start < today)
        .group_by(Engagement.currency)
        .order_by(Engagement.currency)
    )
    found: dict[str, list[SpendMonth]] = {}
    for currency, *values in db.session.execute(statement):
        months = []
        for i, first in enumerate(firsts):
            accrued, rates = values[2 * i], values[2 * i + 1]
            spent = Decimal(str(accrued or 0)) / DAYS_PER_MONTH
            months.append(
                SpendMonth(
                    first,
                    spent.quantize(Decimal(1)),
                    Decimal(str(rates or 0)).quantize(Decimal(1)),
                    partial=first.month == today.month and first.year == today.year,
                )
            )
        found[currency] = months
    return found


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarters(today: date) -> list[tuple[int, int]]:
    """The last QUARTERS quarters, oldest first, this one last."""
    year, quarter = quarter_of(today)
    found = []
    for _ in range(QUARTERS):
        found.append((year, quarter))
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    return found[::-1]


def _quarter_start(year: int, quarter: int) -> date:
    return date(year, 3 * quarter - 2, 1)


def trials_by_quarter(ids, today: date) -> list[TrialQuarter]:
    """Trials started, and trials ended (their end date passed) with outcomes, per quarter."""
    shown = quarters(today)
    first = _quarter_start(*shown[0])
    started: dict[tuple[int, int], int] = defaultdict(int)
    year, month = extract("year", Engagement.trial_start), extract("month", Engagement.trial_start)
    for y, m, count in db.session.execute(
        select(year, month, func.count())
        .where(Engagement.id.in_(ids), Engagement.trial_start >= first)
        .where(Engagement.trial_start <= today)
        .group_by(year, month)
    ):
        started[quarter_of(date(int(y), int(m), 1))] += count
    ended = _ended_trials(ids, first, today)
    return [
        TrialQuarter(y, q, started.get((y, q), 0), dict(ended.get((y, q), {}))) for y, q in shown
    ]


def _ended_trials(ids, first: date, today: date) -> dict:
    """(year, quarter) -> {outcome: count} for trials whose end date is in the window."""
    year, month = extract("year", Engagement.trial_end), extract("month", Engagement.trial_end)
    went_on = case((Engagement.current_period > 0, 1), else_=0)
    keys = (
        year, month, went_on, Engagement.outcome, Engagement.state,
        Engagement.workflow_name, Engagement.workflow_version, Engagement.workflow_hash,
    )  # fmt: skip
    rows = db.session.execute(
        select(*keys, func.count())
        .where(Engagement.id.in_(ids), Engagement.trial_start.is_not(None))
        .where(Engagement.trial_end >= first, Engagement.trial_end < today)
        .group_by(*keys)
    )
    found: dict = defaultdict(lambda: defaultdict(int))
    for y, m, extended, outcome, state, name, version, content_hash, count in rows:
        engagement = SimpleNamespace(
            state=state,
            workflow_name=name,
            workflow_version=version,
            workflow_hash=content_hash,
            closed_at=None,
        )
        found[quarter_of(date(int(y), int(m), 1))][
            trial_outcome(bool(extended), outcome, engagement)
        ] += count
    return found


# What came of a trial, in the order the legend lists them.
OUTCOME_ORDER = (
    "extended", "completed", "terminated", "cancelled", "handing over", "awaiting a decision",
)  # fmt: skip


def trial_outcome(extended: bool, outcome: str | None, engagement) -> str:
    """Extended; else closed with its outcome; else handing over or awaiting a decision
    (what the phase of the state it is in says; no state is named here)."""
    if extended:
        return "extended"
    if outcome:
        return outcome.replace("_", " ")
    phase = lifecycle.phase_of(engagement)
    return "handing over" if phase == "wind_down" else "awaiting a decision"


def _outcome_order(trials: list[TrialQuarter]) -> list[str]:
    seen = {key for quarter in trials for key in quarter.ended}
    known = [key for key in OUTCOME_ORDER if key in seen]
    return known + sorted(seen - set(known))
