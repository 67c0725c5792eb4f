"""Reading evidence in a fixed number of queries: targets with their latest measurement,
suggested verdicts for many milestones, and the measured series of an engagement's metrics.

Whatever the number of measurements, a set of milestones costs one query (its targets,
each with its latest eligible measurement, ranked in SQL) and a set of metrics one.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date

from sqlalchemy import bindparam, exists, func, or_, select
from sqlalchemy.orm import aliased

from tracker.auth.permissions import Action, can
from tracker.core import clock
from tracker.extensions import db
from tracker.models import (
    Engagement,
    Measurement,
    MetricKind,
    Milestone,
    MilestoneTarget,
    SuccessMetric,
    User,
)
from tracker.services.evidence.judgment import (
    PeriodSummary,
    Point,
    SuggestedVerdict,
    TargetStatus,
    judge_target,
    period_summary,
    suggest_verdict,
)
from tracker.services.milestone_status import DisplayedStatus, TargetEvidence, displayed_status


def effective_clause():
    """Measurements no correction has superseded."""
    later = aliased(Measurement)
    return ~exists().where(later.supersedes_id == Measurement.id)


# The ids as integers written into the statement when it runs, not one bound parameter
# each: the provider record passes ~1,300, and binding them (a cast per parameter, then
# psycopg splitting the query at each) cost more than the queries themselves.
_IDS = bindparam("milestone_ids", expanding=True, literal_execute=True)


def _ids(milestone_ids: Sequence[int]) -> dict:
    """The statements' parameters: the ids as integers (see _IDS)."""
    return {"milestone_ids": [int(i) for i in milestone_ids]}


def _target_rows(milestone_ids: Sequence[int]):
    """Each live target of these milestones with its metric and its latest effective
    measurement on or before the milestone's due date (value, measured_at; None when
    there is none): one statement, built once (`_target_rows_statement`)."""
    return db.session.execute(_target_rows_statement(), _ids(milestone_ids)).all()


@functools.cache
def latest_point_columns():
    """A target's latest effective measurement on or before its milestone's due date, as
    two scalar subqueries (its value, its instant) correlated to `MilestoneTarget` and
    `Milestone`: for any statement that reads both (this module's, and the health facts'
    one statement, services/judgments/health_facts.py). Built once.

    Correlated LIMIT 1 subqueries in the select list that walk the (metric, measured_on,
    measured_at) index backwards from the due date, so the cost follows the number of
    targets, not of measurements. They sit in the select list, not in a join condition:
    PostgreSQL evaluates a subquery in `JOIN measurement ON measurement.id = (…)` once per
    pair of rows, which took 20 s for 600 measurements."""
    candidate, later = aliased(Measurement), aliased(Measurement)
    # The superseded ids as one uncorrelated list (each database builds it once per
    # statement), not NOT EXISTS per candidate: SQLite's statistics see supersedes_id all
    # NULL (corrections are rare), judge its index useless and scanned every measurement
    # for each candidate (~7 of the dashboard's ~10 ms in this statement at 10k).
    superseded = select(later.supersedes_id).where(later.supersedes_id.is_not(None))

    def latest(column):
        return (
            select(column)
            .where(candidate.metric_id == MilestoneTarget.metric_id)
            .where(candidate.measured_on <= Milestone.due_date)
            .where(candidate.id.not_in(superseded))
            .order_by(
                candidate.measured_on.desc(), candidate.measured_at.desc(), candidate.id.desc()
            )
            .limit(1)
            .correlate(MilestoneTarget, Milestone)
            .scalar_subquery()
        )

    return latest(candidate.value), latest(candidate.measured_at)


@functools.cache
def _target_rows_statement():
    """The targets with their latest points, built once: a statement object keeps its
    compiled SQL cache key, so each judgement skips building and walking it (issue 29);
    building the aliases and correlated subqueries anew cost the dashboard more than
    running them. The targets and their latest points were two statements (one round
    trip more on PostgreSQL for every page that judges targets)."""
    value, measured_at = latest_point_columns()
    return (
        select(MilestoneTarget.id, MilestoneTarget.milestone_id, MilestoneTarget.target)
        .add_columns(SuccessMetric.id, SuccessMetric.name, SuccessMetric.unit)
        .add_columns(SuccessMetric.direction, SuccessMetric.kind)
        .add_columns(value, measured_at)
        .join(SuccessMetric, SuccessMetric.id == MilestoneTarget.metric_id)
        .join(Milestone, Milestone.id == MilestoneTarget.milestone_id)
        .where(MilestoneTarget.milestone_id.in_(_IDS), SuccessMetric.removed_at.is_(None))
        .order_by(MilestoneTarget.milestone_id, SuccessMetric.id)
    )


def _aware(value):
    """UTCDateTime already answers aware instants; a raw driver value might not."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def target_statuses(
    milestone_ids: Iterable[int], *, fixed_cost: bool = False
) -> dict[int, list[TargetStatus]]:
    """milestone id -> its targets judged (one query for any number of milestones).

    `fixed_cost`: the query even for no milestones, so a page that asserts a constant
    statement count (the provider record) costs the same either way."""
    ids = list(milestone_ids)
    found: dict[int, list[TargetStatus]] = defaultdict(list)
    if not ids and not fixed_cost:
        return found
    for row in _target_rows(ids):
        value, measured_at = row[8], row[9]
        found[row.milestone_id].append(
            judge_target(
                metric_id=row[3],
                name=row.name,
                unit=row.unit,
                direction=row.direction,
                target=row.target,
                latest=Point(_aware(measured_at), value) if measured_at is not None else None,
                kind=row.kind,
            )
        )
    return found


def attach(milestones: Sequence[Milestone], viewer: User, today: date) -> Sequence[Milestone]:
    """Give each milestone `evidence_targets` and `evidence_suggestion` for the API.

    Providers do not see cost figures today, so cost targets are left out of what they
    see; the suggestion still weighs them and says that it does."""
    if not milestones:
        return milestones
    with_cost = can(viewer, Action.VIEW_COST, milestones[0].engagement)
    judged = target_statuses([m.id for m in milestones])
    for m in milestones:
        every = judged.get(m.id, [])
        shown = every if with_cost else [t for t in every if t.kind != MetricKind.COST]
        m.evidence_targets = shown
        m.evidence_suggestion = suggestion_for_viewer(every, shown, m, today)
        m.evidence_claims = as_claim_evidence(every, with_cost=with_cost)
    return milestones


def claim_evidence(milestone: Milestone) -> list[TargetEvidence]:
    """The targets `attach` judged, as the evidence a milestone's displayed status weighs
    against the provider's claim (services/milestone_status, ADR 0190)."""
    return getattr(milestone, "evidence_claims", [])


def as_claim_evidence(
    targets: Iterable[TargetStatus], *, with_cost: bool = True
) -> list[TargetEvidence]:
    """Judged targets in the words a displayed status shows beside a contradicted claim.

    Every target weighs, so a claim reads the same to everyone; a cost target's figures
    are left out of the words for a viewer who may not see cost."""
    return [
        TargetEvidence(
            metric=t.name,
            is_met=None if t.status == "no_data" else t.status == "met",
            text=_claim_text(t, with_cost),
        )
        for t in targets
    ]


def _claim_text(t: TargetStatus, with_cost: bool) -> str:
    if t.kind == MetricKind.COST and not with_cost:
        return f"{t.name}: short of its target (cost figures are not shown to you)"
    return f"{t.sentence}{f', measured {t.latest_at:%-d %b}' if t.latest_at else ''}"


def claim_evidence_many(
    milestone_ids: Iterable[int], viewer: User | None
) -> dict[int, list[TargetEvidence]]:
    """milestone id -> its judged targets as claim evidence, for any number of milestones
    in one query (none without milestones). `viewer` None: a
    reader of no particular role (figures kept; callers show only the badge)."""
    with_cost = viewer is None or can(viewer, Action.VIEW_COST)
    judged = target_statuses(milestone_ids)
    return {mid: as_claim_evidence(found, with_cost=with_cost) for mid, found in judged.items()}


def displayed_many(
    milestones: Sequence[Milestone], viewer: User | None, today: date
) -> dict[int, DisplayedStatus]:
    """milestone id -> its displayed status weighed against its judged targets: what the
    lists, the calendar feed and the digests show, read in a fixed number of queries."""
    evidence = claim_evidence_many([m.id for m in milestones], viewer)
    return {m.id: displayed_status(m, today, evidence.get(m.id)) for m in milestones}


def suggestion_for_viewer(every, shown, milestone: Milestone, today: date) -> SuggestedVerdict:
    """The verdict from every target; reasons only name what the viewer may see."""
    full = suggest_verdict(every, milestone.due_date, today)
    if len(shown) == len(every):
        return full
    reasons = suggest_verdict(shown, milestone.due_date, today).reasons if shown else ()
    hidden = "Cost targets count too; their figures are not shown to you"
    return SuggestedVerdict(full.verdict, (*reasons, hidden))


def suggestions(milestones: Sequence[Milestone], today: date) -> dict[int, SuggestedVerdict]:
    """milestone id -> suggested verdict from every target (health, digests, pages)."""
    judged = target_statuses([m.id for m in milestones])
    return {m.id: suggest_verdict(judged.get(m.id, []), m.due_date, today) for m in milestones}


def series(metric_ids: Iterable[int], *, drawn: int = 120, newest: int = 10) -> dict:
    """metric id -> (its effective measurements thinned for a chart, oldest first; how many
    there are). At most about `drawn` evenly spaced points plus the `newest` ones per
    metric come back (one query, numbered and thinned in SQL), so a page costs the same
    whatever the number of measurements; the judgment never reads these."""
    ids = list(metric_ids)
    found: dict[int, tuple[list[Point], int]] = {}
    if not ids:
        return found
    order = (Measurement.measured_at, Measurement.id)
    numbered = (
        select(Measurement.metric_id, Measurement.measured_at, Measurement.value)
        .add_columns(func.row_number().over(partition_by=Measurement.metric_id, order_by=order))
        .add_columns(func.count().over(partition_by=Measurement.metric_id))
        .where(Measurement.metric_id.in_(ids), effective_clause())
        .subquery()
    )
    number, total = numbered.c[3], numbered.c[4]
    step = (total + drawn - 1) // drawn  # floor division: SQLAlchemy 2 makes "/" true division
    rows = db.session.execute(
        select(numbered.c.metric_id, numbered.c.measured_at, numbered.c.value, total)
        .where(or_((number - 1) % step == 0, number > total - newest))
        .order_by(numbered.c.metric_id, number)
    )
    for row in rows:
        points, _ = found.get(row.metric_id, ([], 0))
        points.append(Point(_aware(row.measured_at), row.value))
        found[row.metric_id] = (points, row[3])
    return found


def targets_met_many(engagement_ids: list[int]) -> dict[int, tuple[int, int]]:
    """engagement id -> (targets met, targets) over its current period's live milestones;
    engagements without targets are left out (two queries for any number)."""
    found = list_evidence(engagement_ids)[0]
    return {i: (s.met, s.targets) for i, s in found.items()}


def list_evidence(
    engagement_ids: list[int], more_milestone_ids: Iterable[int] = (), today: date | None = None
) -> tuple[dict[int, PeriodSummary], dict[int, list[TargetStatus]]]:
    """An engagement list's evidence in two queries for any number of rows: per
    engagement with targets this period its summary (`period_summary`: targets met, and
    milestones missed or overdue), and the judged targets of those milestones plus
    `more_milestone_ids` (each row's next milestone, which a displayed status weighs)."""
    if not engagement_ids:
        return {}, {}
    today = today or clock.now().date()
    params = {"engagement_ids": [int(i) for i in engagement_ids]}
    rows = db.session.execute(_period_milestones_statement(), params).all()
    judged = target_statuses({*(r.id for r in rows), *more_milestone_ids})
    by_engagement: dict[int, list] = {}
    for row in rows:
        by_engagement.setdefault(row.engagement_id, []).append(row)
    summaries: dict[int, PeriodSummary] = {}
    for engagement_id, found in by_engagement.items():
        targets = [t for row in found for t in judged.get(row.id, ())]
        if targets:
            facts = [(row.status, row.due_date) for row in found]
            summaries[engagement_id] = period_summary(targets, facts, today)
    return summaries, judged


@functools.cache
def _period_milestones_statement():
    """The live milestones of the engagements' current periods, of only those engagements
    with a live target on one of them: the others have no summary, and reading all their
    milestones (about five a row, most engagements measure nothing yet) was most of the
    dashboard's evidence time (ADR 0257). Built once."""
    ids = bindparam("engagement_ids", expanding=True)
    targeted, current = aliased(Milestone), aliased(Engagement)
    with_targets = (
        select(targeted.engagement_id)
        .join(current, current.id == targeted.engagement_id)
        .join(MilestoneTarget, MilestoneTarget.milestone_id == targeted.id)
        .join(SuccessMetric, SuccessMetric.id == MilestoneTarget.metric_id)
        .where(targeted.engagement_id.in_(ids), targeted.removed_at.is_(None))
        .where(targeted.period == current.current_period, SuccessMetric.removed_at.is_(None))
        .correlate(None)
    )
    return (
        select(Milestone.id, Milestone.engagement_id, Milestone.status, Milestone.due_date)
        .join(Engagement, Engagement.id == Milestone.engagement_id)
        .where(Milestone.engagement_id.in_(with_targets), Milestone.removed_at.is_(None))
        .where(Milestone.period == Engagement.current_period)
    )
