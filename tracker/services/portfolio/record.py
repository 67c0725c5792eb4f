"""A provider organisation's record, from the engagements the viewer may see.

Each figure is a `Figure`: its value and the ids of the engagements behind it, so every
number on the page links to them. Five statements whatever the number of engagements
(the organisation, its engagements' columns, their milestones with the day each was
first reported done, the external members who left, and the judged targets of the
milestones with a verdict, two statements when any exist); see docs/adr/0221.

A milestone's standing reads as `displayed_status` reads it (a verdict is the verdict;
past its due date without one it is overdue); `standing` is that rule on columns, and
tests hold the two to the same answer.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from statistics import median
from types import SimpleNamespace

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import aliased

from tracker.auth.permissions import Action, can, visible_clause
from tracker.errors import NotFound
from tracker.extensions import db
from tracker.models import (
    Engagement,
    Milestone,
    MilestoneStatus,
    MilestoneUpdate,
    ProviderOrganisation,
    TeamMember,
    User,
)
from tracker.services.change_requests.drift import approved_facts
from tracker.services.evidence.judgment import UNDECIDED, suggest_verdict
from tracker.services.evidence.reads import target_statuses
from tracker.services.portfolio.scope import provider_engagements, provider_for_record
from tracker.services.staffing.cost import cost_to_date
from tracker.services.workflow import lifecycle

MET, MISSED, OVERDUE, OPEN = "met", "missed", "overdue", "open"
DONE_STATUSES = (MilestoneStatus.DONE.value, MilestoneStatus.MET.value)


@dataclass(frozen=True)
class Figure:
    """A number on the record and the engagements behind it."""

    key: str
    label: str
    count: int
    engagement_ids: tuple[int, ...] = ()


@dataclass
class ProviderRecord:
    """What /providers/<id> and GET /api/v1/providers/{id}/record show."""

    provider: ProviderOrganisation
    today: date
    engagements: Figure
    by_state: list[Figure] = field(default_factory=list)  # key "state:<name>:<outcome>"
    trial_met: Figure | None = None
    trial_missed: Figure | None = None
    verdict_agrees: Figure | None = None  # suggested (from evidence) == final
    verdict_differs: Figure | None = None
    on_time: Figure | None = None
    late: Figure | None = None
    days_late: list[int] = field(default_factory=list)
    staff_changes: Figure | None = None
    closed_with_readiness: Figure | None = None
    readiness_scores: list[int] = field(default_factory=list)
    cost_to_date: dict[str, Decimal] | None = None  # currency -> amount; None: hidden
    change_requests: Figure | None = None  # approved change requests (counted per request)
    change_request_cost: dict[str, Decimal] | None = None  # their total cost; None: hidden

    @property
    def trial_pass_rate(self) -> float | None:
        judged = self.trial_met.count + self.trial_missed.count
        return self.trial_met.count / judged if judged else None

    @property
    def on_time_rate(self) -> float | None:
        due = self.on_time.count + self.late.count
        return self.on_time.count / due if due else None

    @property
    def median_days_late(self) -> float | None:
        return median(self.days_late) if self.days_late else None

    @property
    def readiness_at_close(self) -> float | None:
        scores = self.readiness_scores
        return sum(scores) / len(scores) if scores else None

    def figures(self) -> list[Figure]:
        """Every figure, for the links to the engagements behind each."""
        named = [
            self.trial_met, self.trial_missed, self.verdict_agrees, self.verdict_differs,
            self.on_time, self.late, self.staff_changes, self.closed_with_readiness,
            self.change_requests,
        ]  # fmt: skip
        return [self.engagements, *self.by_state, *named]

    def figure(self, key: str) -> Figure | None:
        return next((f for f in self.figures() if f.key == key), None)


def standing(status: str, due: date, today: date) -> str:
    """met, missed, overdue or open: the branches of `displayed_status` a record counts."""
    if status in (MET, MISSED):
        return status
    return OVERDUE if due < today else OPEN


def provider_record(actor: User, provider_id: int, today: date) -> ProviderRecord:
    """The record of one organisation over the engagements the actor may see."""
    provider = provider_for_record(actor, provider_id)
    ids = provider_engagements(actor, provider_id)
    rows = db.session.execute(_engagement_columns().where(Engagement.id.in_(ids))).all()
    record = ProviderRecord(provider, today, _figure("all", "Engagements", [r.id for r in rows]))
    record.by_state = _by_state(rows)
    _add_milestones(record, ids, today)
    _add_staff_changes(record, ids, {r.id: r for r in rows}, today)
    _add_readiness(record, rows)
    with_cost = can(actor, Action.VIEW_COST)
    _add_change_requests(record, ids, {r.id: r.currency for r in rows}, with_cost)
    if with_cost:
        record.cost_to_date = _cost(rows, today)
    return record


def _add_change_requests(record: ProviderRecord, ids, currencies: dict, with_cost: bool) -> None:
    """Approved change requests (one statement) and what they added to the total cost."""
    facts = approved_facts(ids)
    pairs = [(fact.id, engagement_id) for engagement_id, fs in facts.items() for fact in fs]
    record.change_requests = _counted("change_requests", "Approved change requests", pairs)
    if with_cost:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for engagement_id, fs in facts.items():
            added = (f.cost_delta_total or Decimal(0) for f in fs)
            totals[currencies[engagement_id]] += sum(added, Decimal(0))
        record.change_request_cost = dict(sorted(totals.items()))


def _figure(key: str, label: str, ids) -> Figure:
    unique = tuple(sorted(set(ids)))
    return Figure(key, label, len(unique), unique)


def _counted(key: str, label: str, pairs: list[tuple[int, int]]) -> Figure:
    """A figure counting items (milestones, members), linking to their engagements."""
    return Figure(key, label, len(pairs), tuple(sorted({e for _, e in pairs})))


def _engagement_columns():
    return select(
        Engagement.id,
        Engagement.state,
        Engagement.outcome,
        Engagement.workflow_name,
        Engagement.workflow_version,
        Engagement.workflow_hash,
        Engagement.trial_start,
        Engagement.closed_at,
        Engagement.monthly_cost,
        Engagement.currency,
        Engagement.readiness_score,
    ).order_by(Engagement.id)


def _by_state(rows) -> list[Figure]:
    """Engagements per state (and outcome, once closed), in lifecycle order."""
    groups: dict[tuple[str, str | None], list] = defaultdict(list)
    for row in rows:
        groups[(row.state, row.outcome)].append(row)
    order = {name: i for i, name in enumerate(lifecycle.known_states())}
    figures = []
    for (state, outcome), members in sorted(
        groups.items(), key=lambda g: (order.get(g[0][0], 99), g[0][0], g[0][1] or "")
    ):
        name = lifecycle.label_of_state(SimpleNamespace(**members[0]._asdict()), state)
        text = f"{name} ({outcome.replace('_', ' ')})" if outcome else name
        figures.append(_figure(f"state:{state}:{outcome or ''}", text, [r.id for r in members]))
    return figures


def _milestone_rows(ids):
    first_done = (
        select(func.min(MilestoneUpdate.created_at))
        .where(
            MilestoneUpdate.milestone_id == Milestone.id,
            MilestoneUpdate.status.in_(DONE_STATUSES),
        )
        .correlate(Milestone)
        .scalar_subquery()
    )
    return db.session.execute(
        select(
            Milestone.id,
            Milestone.engagement_id,
            Milestone.period,
            Milestone.due_date,
            Milestone.status,
            Milestone.verdict_at,
            first_done.label("first_done_at"),
        ).where(Milestone.engagement_id.in_(ids), Milestone.removed_at.is_(None))
    ).all()


def _add_milestones(record: ProviderRecord, ids, today: date) -> None:
    """Trial milestones met and missed, suggested against final verdicts, on time and late."""
    rows = _milestone_rows(ids)
    judged = [r for r in rows if standing(r.status, r.due_date, today) in (MET, MISSED)]
    trial = [r for r in judged if r.period == 0]
    met = [(r.id, r.engagement_id) for r in trial if r.status == MET]
    missed = [(r.id, r.engagement_id) for r in trial if r.status == MISSED]
    record.trial_met = _counted("trial_met", "Trial milestones met", met)
    record.trial_missed = _counted("trial_missed", "Trial milestones missed", missed)
    _add_verdicts(record, judged, today)
    _add_timeliness(record, rows, today)


def _add_verdicts(record: ProviderRecord, judged, today: date) -> None:
    """Where targets were measured: did the final verdict follow the suggested one?"""
    targets = target_statuses([r.id for r in judged], fixed_cost=True)
    agrees, differs = [], []
    for row in judged:
        if not targets.get(row.id):
            continue
        suggested = suggest_verdict(targets[row.id], row.due_date, today).verdict
        if suggested == UNDECIDED:
            continue
        (agrees if suggested == row.status else differs).append((row.id, row.engagement_id))
    record.verdict_agrees = _counted(
        "verdict_agrees", "Verdicts that follow the measured evidence", agrees
    )
    record.verdict_differs = _counted(
        "verdict_differs", "Verdicts that go against the measured evidence", differs
    )


def finished_on(row) -> date | None:
    """The day a milestone was done: first reported done (or met), else its verdict."""
    at: datetime | None = row.first_done_at or (row.verdict_at if row.status == MET else None)
    return at.date() if at is not None else None


def _add_timeliness(record: ProviderRecord, rows, today: date) -> None:
    """Of the milestones already due: met by their due date, or late (met after it,
    missed, or still open past it); days late of those met late or still open."""
    on_time, late, days = [], [], []
    for row in rows:
        if row.due_date >= today and row.status not in (MET, MISSED):
            continue  # not due yet
        done = finished_on(row) if row.status == MET else None
        if done is not None and done <= row.due_date:
            on_time.append((row.id, row.engagement_id))
            continue
        late.append((row.id, row.engagement_id))
        if row.status == MET and done is not None:
            days.append((done - row.due_date).days)
        elif row.status != MISSED and row.due_date < today:
            days.append((today - row.due_date).days)
    record.on_time = _counted("on_time", "Milestones done by their due date", on_time)
    record.late = _counted("late", "Milestones late or missed", late)
    record.days_late = sorted(days)


def _add_staff_changes(record: ProviderRecord, ids, engagements: dict, today: date) -> None:
    """External members who left during the engagement and were replaced: their end date
    falls after the trial started and before the engagement ended, and another external
    member joined the engagement after them."""
    joiner = aliased(TeamMember)
    replaced = exists().where(
        joiner.engagement_id == TeamMember.engagement_id,
        joiner.is_external.is_(True),
        joiner.id != TeamMember.id,
        joiner.start_date.is_not(None),
        and_(TeamMember.start_date.is_(None) | (joiner.start_date > TeamMember.start_date)),
    )
    leavers = db.session.execute(
        select(TeamMember.id, TeamMember.engagement_id, TeamMember.end_date).where(
            TeamMember.engagement_id.in_(ids),
            TeamMember.is_external.is_(True),
            TeamMember.end_date.is_not(None),
            replaced,
        )
    ).all()
    changes = []
    for member_id, engagement_id, left in leavers:
        engagement = engagements[engagement_id]
        ended = engagement.closed_at.date() if engagement.closed_at else today
        if engagement.trial_start and engagement.trial_start <= left < ended:
            changes.append((member_id, engagement_id))
    record.staff_changes = _counted(
        "staff_changes", "External members replaced mid-engagement", changes
    )


def _add_readiness(record: ProviderRecord, rows) -> None:
    """The knowledge-retention readiness cached on each closed engagement (its score when
    it closed: a closed engagement's inputs no longer change)."""
    closed = [r for r in rows if r.closed_at is not None and r.readiness_score is not None]
    record.closed_with_readiness = _figure(
        "closed_readiness", "Closed engagements with a readiness score", [r.id for r in closed]
    )
    record.readiness_scores = [r.readiness_score for r in closed]


def _cost(rows, today: date) -> dict[str, Decimal]:
    """Cost to date per currency: `cost.cost_to_date` of each engagement, added up."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        totals[row.currency] += cost_to_date(row, today)
    return {currency: amount.quantize(Decimal(1)) for currency, amount in sorted(totals.items())}


def engagements_behind(
    actor: User, provider_id: int, key: str, today: date, *, page: int = 1, per_page: int = 50
) -> tuple[ProviderRecord, Figure, list]:
    """The record, the figure named by `key` (NotFound if none) and one page of the
    engagements behind it, by title (one more statement)."""
    record = provider_record(actor, provider_id, today)
    figure = record.figure(key)
    if figure is None:
        raise NotFound("No such figure on this record.")
    page_ids = figure.engagement_ids[(page - 1) * per_page : page * per_page]
    rows = db.session.execute(
        select(
            Engagement.id,
            Engagement.title,
            Engagement.state,
            Engagement.outcome,
            Engagement.workflow_name,
            Engagement.workflow_version,
            Engagement.workflow_hash,
            Engagement.closed_at,
        )
        .where(Engagement.id.in_(page_ids))
        .order_by(Engagement.title, Engagement.id)
    ).all()
    listed = [
        (r.id, r.title, lifecycle.state_label(SimpleNamespace(**r._asdict())), r.outcome)
        for r in rows
    ]
    return record, figure, listed


def provider_index(actor: User) -> list[tuple[int, str, int]]:
    """(id, name, engagements the actor may see) of every organisation with one (one query);
    a provider user gets only their own organisation."""
    statement = (
        select(ProviderOrganisation.id, ProviderOrganisation.name, func.count(Engagement.id))
        .join(Engagement, Engagement.provider_id == ProviderOrganisation.id)
        .where(visible_clause(actor))
        .group_by(ProviderOrganisation.id, ProviderOrganisation.name)
        .order_by(ProviderOrganisation.name)
    )
    return [tuple(row) for row in db.session.execute(statement)]
