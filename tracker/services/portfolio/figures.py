"""The portfolio: health over the last six months, spend per month, trials per quarter.

Computed by aggregate SQL over what is stored, a fixed number of statements whatever the
number of engagements (docs/adr/0221), each a range read on an index (docs/adr/0234):
- health: each `health_change` row holds from its instant until `valid_until` (the
  engagement's next row or its closing, stored by the rows' writer); a week's point counts
  the rows begun less the rows ended before the end of that day, per health: one
  statement of range counts (or, for a filtered selection, its rows grouped by week);
- spend: the accrual rule of `services.staffing.cost` (monthly cost per 30.4375 days from the
  trial's start until closing) cut at month boundaries, beside the sum of the monthly
  costs of the engagements running that month: one statement of range sums, per currency;
- trials: started and ended per quarter by their start and end dates, an ended trial's
  outcome from where the engagement went since (extended, closed with its outcome, or the
  phase it waits in): two statements;
- the drift and the open hiring evaluations: one statement each (their own modules).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from types import SimpleNamespace

from sqlalchemy import Integer, bindparam, case, cast, func, literal, select, union_all

from tracker.auth.permissions import Action, can
from tracker.extensions import db
from tracker.models import ChangeRequest, Engagement, HealthChange, User
from tracker.services.change_requests.drift import Drift, largest_drift
from tracker.services.portfolio import hiring
from tracker.services.portfolio.scope import (
    engagement_ids,
    require_portfolio_viewer,
    sees_everything,
)
from tracker.services.portfolio.sql_days import day_number, larger, smaller
from tracker.services.read_model import engagement_list
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
    # (id, title, due) of open "Evaluate hiring" items; only for who may see cost
    hiring: list[tuple[int, str, date]] = field(default_factory=list)


def build_portfolio(actor: User, query: ListQuery, today: date) -> Portfolio:
    """The figures over the engagements the actor may see that the filters select."""
    require_portfolio_viewer(actor)
    ids = engagement_ids(actor, query)
    everything = sees_everything(actor, query)
    where = () if everything else engagement_list.clauses(actor, query)
    trials = trials_by_quarter(where, today)
    portfolio = Portfolio(query, today, health_history(ids, today, everything=everything), trials)
    portfolio.outcomes = _outcome_order(trials)
    # Everything visible: only engagements with a change request can have drifted, so ask
    # for those rather than listing every engagement's id.
    asked = select(ChangeRequest.engagement_id) if everything else ids
    portfolio.drift = largest_drift(actor, asked, limit=DRIFT_ROWS)
    if can(actor, Action.VIEW_COST):
        portfolio.spend = spend_by_month(where, today)
        portfolio.hiring = hiring.open_evaluations(ids)
    return portfolio


def sample_days(today: date) -> list[date]:
    """The weekly points of the last six months, oldest first, ending today."""
    return [today - timedelta(days=7 * k) for k in range(WEEKS, -1, -1)]


def sample_instants(today: date) -> list[datetime]:
    """The instant each weekly point is read at: the end of its day (the next midnight, UTC)."""
    return [datetime.combine(day + timedelta(days=1), time.min, UTC) for day in sample_days(today)]


def health_history(ids, today: date, *, everything: bool = False) -> list[HealthPoint]:
    """Live engagements per effective health at the end of each sample day (one query).

    A history row holds from `changed_at` until `valid_until` (the engagement's next row
    or its closing, stored by the one writer of the rows; docs/adr/0234), so the rows in
    force at an instant are the rows begun before it less the rows ended before it. With
    `everything` (the viewer sees every engagement and no filter narrows them) SQL counts
    both per health and per week from the two indexes alone; otherwise it groups the
    selected engagements' rows by the weeks they cover. Either way the points are running
    sums of per-week counts, so each row is read once.
    """
    days = sample_days(today)
    if everything:
        began, ended = _week_counts_from_indexes(sample_instants(today))
    else:
        began, ended = _week_counts_of(ids, days, today)
    points, running = [], dict.fromkeys(HEALTHS, 0)
    for i, day in enumerate(days):
        for health in HEALTHS:
            running[health] += began[health][i] - ended[health][i]
        points.append(HealthPoint(day, dict(running)))
    return points


def _week_counts_from_indexes(instants: list[datetime]) -> tuple[dict, dict]:
    """Per health and week: rows begun, and rows ended, since the previous point (before
    the first point for week 0). One statement of range counts, each on an index."""
    params = {f"at_{i}": instant for i, instant in enumerate(instants)}
    values = iter(db.session.execute(_range_counts(len(instants)), params).one())
    weeks = len(instants)
    began = {health: [next(values) for _ in range(weeks)] for health in HEALTHS}
    ended = {health: [next(values) for _ in range(weeks)] for health in HEALTHS}
    return began, ended


@cache
def _range_counts(weeks: int):
    """The statement of `_week_counts_from_indexes`, built once: the instants are bound
    parameters `at_0`…, so building its 2 × 3 × weeks subqueries is not paid per request."""
    table = HealthChange.__table__
    instants = [bindparam(f"at_{i}", type_=table.c.changed_at.type) for i in range(weeks)]
    columns = []
    for column in (table.c.changed_at, table.c.valid_until):
        for health in HEALTHS:
            previous = None
            for instant in instants:
                where = [table.c.effective_health == health, column < instant]
                where.append(column >= previous if previous is not None else column.is_not(None))
                columns.append(select(func.count()).where(*where).scalar_subquery())
                previous = instant
    return select(*columns)


def _week_counts_of(ids, days: list[date], today: date) -> tuple[dict, dict]:
    """Per health and week: rows begun and ended, for the rows of the engagements `ids`
    that are in force at some point (one statement, grouped by the first point each row
    holds at and the first it no longer does)."""
    table = HealthChange.__table__
    origin = day_number(literal(days[0]))
    never = day_number(literal(today + timedelta(days=7)))
    began = cast(day_number(table.c.changed_at) - origin, Integer)
    ended = cast(func.coalesce(day_number(table.c.valid_until), never) - origin, Integer)
    # point k is day days[0] + 7k: held at k when began <= 7k < ended
    first = (larger(began, 0) + 6) // 7
    end = smaller(larger(ended + 6, 0) // 7, len(days))
    first_instant = datetime.combine(days[0] + timedelta(days=1), time.min, UTC)
    statement = (
        select(table.c.effective_health, first, end, func.count())
        .where(table.c.engagement_id.in_(ids))
        .where(table.c.valid_until.is_(None) | (table.c.valid_until >= first_instant))
        .group_by(table.c.effective_health, first, end)
    )
    weeks = len(days)
    began_in = {health: [0] * (weeks + 1) for health in HEALTHS}
    ended_in = {health: [0] * (weeks + 1) for health in HEALTHS}
    for health, start, stop, count in db.session.execute(statement):
        start, stop = int(start), int(stop)
        if start < stop and health in began_in:
            began_in[health][start] += count
            ended_in[health][stop] += count
    return began_in, ended_in


def month_starts(today: date) -> list[date]:
    """The first days of the last MONTHS calendar months, oldest first, this one last."""
    firsts, year, month = [], today.year, today.month
    for _ in range(MONTHS):
        firsts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return firsts[::-1]


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def spend_by_month(where, today: date) -> dict[str, list[SpendMonth]]:
    """Per currency and month: cost accrued in the month (up to today in the running one)
    and the monthly costs of the engagements that ran in it (one statement).

    The cost rule gives an engagement running from day s to day e (its closing, else
    today) `monthly_cost` per 30.4375 days. Over a month [A, B) it accrues
    cost x (min(e, B) - max(s, A)) if positive, which is the running time begun by then,
    sum over [s <= t], less the time ended, sum over [e <= t]. Each of those needs, per
    currency, only sums of `monthly_cost` (and of cost x day) over the engagements that
    began (or closed) before A, and between A and B: range sums on the trial's start and
    on the closing, read from indexes, a few buckets per month, never a per-engagement
    computation over all of them. Engagements that closed on or before the day their
    trial started accrue nothing and are left out.
    """
    firsts = month_starts(today)
    stops = [min(_next_month(first), today) for first in firsts]
    pairs = zip(firsts, stops, strict=True)
    marks = sorted({day for first, stop in pairs for day in (first + _DAY, stop)})
    origin = firsts[0]
    params = {"today": today, "origin": origin}
    for j, mark in enumerate(marks):
        params[f"mark_{j}"] = mark
        params[f"midnight_{j}"] = datetime.combine(mark, time.min, UTC)
    sums: dict[str, dict[str, list]] = {"began": {}, "ended": {}}
    for side, j, currency, costs, weighted in db.session.execute(
        _built(_spend_statement, len(marks), where), params
    ):
        buckets = sums[side].setdefault(currency, [(Decimal(0), Decimal(0))] * len(marks))
        buckets[int(j)] = (_decimal(costs), _decimal(weighted))
    found: dict[str, list[SpendMonth]] = {}
    for currency in sorted(set(sums["began"]) | set(sums["ended"])):
        started_by = _prefix(sums["began"].get(currency), marks)
        closed_by = _prefix(sums["ended"].get(currency), marks)
        months = []
        for first, stop in zip(firsts, stops, strict=True):
            accrued, rates = Decimal(0), Decimal(0)
            if stop > first:
                a, b = (first - origin).days, (stop - origin).days
                accrued = _time_begun(started_by, first, stop, a, b) - _time_begun(
                    closed_by, first, stop, a, b
                )
                rates = started_by(stop)[0] - closed_by(first + _DAY)[0]
            months.append(
                SpendMonth(
                    first,
                    (accrued / DAYS_PER_MONTH).quantize(Decimal(1)),
                    rates.quantize(Decimal(1)),
                    partial=first.month == today.month and first.year == today.year,
                )
            )
        found[currency] = months
    return found


_DAY = timedelta(days=1)


def _built(builder, size: int, where):
    """A statement from `builder`: built once per size when nothing narrows the
    engagements (`where` empty), else for this request's filters."""
    return _unfiltered(builder, size) if not where else builder(size, tuple(where))


@cache
def _unfiltered(builder, size: int):
    return builder(size, ())


def _spend_statement(marks: int, where: tuple):
    """Per side (trials begun, engagements closed), bucket of that column (below mark 0,
    then between consecutive marks) and currency: the sum of monthly costs and of monthly
    cost x (day - origin). A range read per bucket; the first bucket (everything long
    ago) needs no day arithmetic. The dates
    are bound parameters (`today`, `origin`, `mark_j`, `midnight_j`); see `_built`."""
    start, closed, cost = Engagement.trial_start, Engagement.closed_at, Engagement.monthly_cost
    counted = [
        *where,
        start.is_not(None),
        start < bindparam("today", type_=start.type),
        closed.is_(None) | (day_number(closed) > day_number(start)),
    ]
    origin = day_number(bindparam("origin", type_=start.type))
    parts = []
    for side, column, name in (("began", start, "mark"), ("ended", closed, "midnight")):
        bounds = [bindparam(f"{name}_{j}", type_=column.type) for j in range(marks)]
        for j, mark in enumerate(bounds):
            in_bucket = [column < mark] if j == 0 else [column >= bounds[j - 1], column < mark]
            weighted = (
                func.sum(cost) * 0 if j == 0 else func.sum(cost * (day_number(column) - origin))
            )
            parts.append(
                select(
                    literal(side).label("side"),
                    literal(j).label("bucket"),
                    Engagement.currency,
                    func.sum(cost),
                    weighted,
                )
                .where(*in_bucket, *counted)
                .group_by(Engagement.currency)
            )
    return union_all(*parts)


def _decimal(value) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


def _prefix(buckets: list | None, marks: list):
    """`by(mark)`: (sum of costs, sum of cost x day) of everything below that mark."""
    running, totals = (Decimal(0), Decimal(0)), {}
    for mark, (costs, weighted) in zip(marks, buckets or [(0, 0)] * len(marks), strict=True):
        running = (running[0] + costs, running[1] + weighted)
        totals[mark] = running
    return totals.__getitem__


def _time_begun(by, first: date, stop: date, a: int, b: int) -> Decimal:
    """Sum over the engagements of cost x (days of [a, b) from their day x on), for x the
    start (or the closing): x <= a counts b - a days, a < x < b counts b - x."""
    before_costs, _ = by(first + _DAY)
    within_costs = by(stop)[0] - before_costs
    within_weighted = by(stop)[1] - by(first + _DAY)[1]
    return (b - a) * before_costs + b * within_costs - within_weighted


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


def trials_by_quarter(where, today: date) -> list[TrialQuarter]:
    """Trials started, and trials ended (their end date passed) with outcomes, per quarter:
    two statements of a range read per quarter (on the trial's start, on its end)."""
    shown = quarters(today)
    starts = [_quarter_start(*quarter) for quarter in shown]
    params = {"today": today, "tomorrow": today + _DAY}
    params.update({f"from_{j}": start for j, start in enumerate(starts)})
    started = db.session.execute(_built(_started_statement, len(shown), where), params).one()
    found: dict = defaultdict(lambda: defaultdict(int))
    for j, extended, outcome, state, name, version, content_hash, count in db.session.execute(
        _built(_ended_statement, len(shown), where), params
    ):
        engagement = SimpleNamespace(
            state=state,
            workflow_name=name,
            workflow_version=version,
            workflow_hash=content_hash,
            closed_at=None,
        )
        found[int(j)][trial_outcome(bool(extended), outcome, engagement)] += count
    return [
        TrialQuarter(y, q, started[j], dict(found.get(j, {}))) for j, (y, q) in enumerate(shown)
    ]


def _quarter_bounds(column, quarters: int) -> list[tuple]:
    """(from, until) bound parameters of each quarter shown; the last one ends tomorrow."""
    starts = [bindparam(f"from_{j}", type_=column.type) for j in range(quarters)]
    return list(zip(starts, [*starts[1:], bindparam("tomorrow", type_=column.type)], strict=True))


def _started_statement(quarters: int, where: tuple):
    """Trials started per quarter, up to today: a count per quarter on the start's index."""
    start = Engagement.trial_start
    today = bindparam("today", type_=start.type)
    counts = [
        select(func.count()).where(start >= low, start < high, start <= today, *where)
        for low, high in _quarter_bounds(start, quarters)
    ]
    return select(*(count.scalar_subquery() for count in counts))


def _ended_statement(quarters: int, where: tuple):
    """Trials whose end date passed, per quarter and what came of them (extended, the
    outcome, the state and its definition, for the phase it waits in)."""
    went_on = case((Engagement.current_period > 0, 1), else_=0)
    keys = (
        went_on, Engagement.outcome, Engagement.state,
        Engagement.workflow_name, Engagement.workflow_version, Engagement.workflow_hash,
    )  # fmt: skip
    end = Engagement.trial_end
    today = bindparam("today", type_=end.type)
    return union_all(
        *(
            select(literal(j).label("quarter"), *keys, func.count())
            .where(end >= low, end < high, end < today, Engagement.trial_start.is_not(None))
            .where(*where)
            .group_by(*keys)
            for j, (low, high) in enumerate(_quarter_bounds(end, quarters))
        )
    )


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
