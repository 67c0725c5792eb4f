"""What health is judged from: the facts of many engagements in a few queries, and which
written rows are those facts (HEALTH_INPUTS), so the unit of work re-judges the right
engagements before it commits (services/derived.py). Reads only; writes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import (
    Date,
    Float,
    Integer,
    Numeric,
    Text,
    bindparam,
    cast,
    inspect,
    literal_column,
    null,
    select,
    union_all,
)

from tracker.db_setup import UTCDateTime
from tracker.extensions import db
from tracker.models import (
    AccessEntry,
    ChangeRequest,
    ChecklistItem,
    Engagement,
    Measurement,
    Milestone,
    MilestoneTarget,
    SuccessMetric,
    TeamMember,
)
from tracker.models.change_request import APPROVED
from tracker.services.change_requests.drift import ApprovedFact
from tracker.services.evidence import reads as evidence_reads
from tracker.services.evidence.judgment import Point, TargetStatus, judge_target

# The rows health is judged from (the engagement's own and what `gather_facts` reads):
# a unit of work that writes any of them has its engagements re-judged before it commits
# (derived.COMMIT_STEPS). tests/services/judgments/test_health.py ties this to the
# tables gather_facts actually reads.
HEALTH_INPUTS = (Engagement, Milestone, ChecklistItem, SuccessMetric, MilestoneTarget)


HEALTH_INPUTS += (Measurement, TeamMember, AccessEntry, ChangeRequest)


# An engagement's columns that health itself (or the row's bookkeeping) writes: a change
# to only these is not a new fact to judge.
NOT_HEALTH_FACTS = frozenset(
    {"health", "health_reasons", "health_computed_at", "effective_health", "health_rank"}
    | {"version"}
    | {"updated_at", "readiness_score", "readiness_gaps", "readiness_parts"}
)


@dataclass(frozen=True)
class MilestoneFact:
    """What health reads of one milestone."""

    id: int
    title: str
    status: str
    period: int
    due_date: date
    last_update_at: datetime | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class ChecklistDueFact:
    """An open checklist item that has a due date."""

    id: int
    title: str
    kind: str
    due_date: date


@dataclass(frozen=True)
class OpenAccessFact:
    """A team member with an end date and the systems they can still reach."""

    member_id: int
    name: str
    end_date: date
    systems: tuple[str, ...]


@dataclass(frozen=True)
class HealthFacts:
    """What health needs to know about one engagement beyond its own row."""

    milestones: tuple[MilestoneFact, ...] = ()
    open_items: tuple[ChecklistDueFact, ...] = ()
    # milestone id -> its targets judged (services/evidence/judgment.py)
    targets: Mapping[int, tuple[TargetStatus, ...]] = field(default_factory=dict)
    open_access: tuple[OpenAccessFact, ...] = ()
    # Approved change requests (issue 31), for the drift rule.
    approved: tuple[ApprovedFact, ...] = ()


# The facts of any number of engagements in ONE statement (issue 29): a UNION ALL of
# five kinds of row (milestones, open checklist items with a due date, open access of
# members with an end date, approved change requests, milestone targets with their
# latest measurement), each kind's columns in typed slots, NULL elsewhere. Every
# milestone update re-judges its engagement before it commits; five statements were five
# PostgreSQL round trips and five passes through SQLAlchemy's execution for what one
# read answers. Built once, the engagement ids an expanding parameter: the statement
# keeps its compiled-SQL cache key. Each kind's order is restored in Python (`_sorted`).
_IDS = bindparam("ids", expanding=True)
_MILESTONE, _ITEM, _ACCESS, _APPROVED, _TARGET = range(5)
_SLOTS = {
    "n1": Integer(),
    "n2": Integer(),
    "s1": Text(),
    "s2": Text(),
    "s3": Text(),
    "s4": Text(),
    "d1": Date(),
    "t1": UTCDateTime(),
    "t2": UTCDateTime(),
    "f1": Float(),
    "f2": Float(),
    "x1": Numeric(14, 2),
    "x2": Numeric(14, 2),
}


def _kind(kind: int, engagement_id, row_id, **slots):
    """One branch of the facts statement: (kind, engagement, row id, every slot)."""
    unknown = set(slots) - set(_SLOTS)
    assert not unknown, unknown
    columns = [literal_column(str(kind), Integer()).label("kind")]
    columns += [engagement_id.label("engagement_id"), row_id.label("row_id")]
    for name, type_ in _SLOTS.items():
        value = slots.get(name)
        columns.append((cast(null(), type_) if value is None else value).label(name))
    return select(*columns)


def _facts_statement():
    latest_value, latest_at = evidence_reads.latest_point_columns()
    milestones = _kind(
        _MILESTONE,
        Milestone.engagement_id,
        Milestone.id,
        s1=Milestone.title,
        s2=Milestone.status,
        n1=Milestone.period,
        d1=Milestone.due_date,
        t1=Milestone.last_update_at,
        t2=Milestone.created_at,
    ).where(Milestone.engagement_id.in_(_IDS), Milestone.removed_at.is_(None))
    items = _kind(
        _ITEM,
        ChecklistItem.engagement_id,
        ChecklistItem.id,
        s1=ChecklistItem.title,
        s2=ChecklistItem.kind,
        d1=ChecklistItem.due_date,
    ).where(
        ChecklistItem.engagement_id.in_(_IDS),
        ChecklistItem.status == "open",
        ChecklistItem.due_date.is_not(None),
    )
    access = (
        _kind(
            _ACCESS,
            TeamMember.engagement_id,
            TeamMember.id,
            s1=TeamMember.name,
            s2=AccessEntry.system,
            d1=TeamMember.end_date,
            n1=AccessEntry.id,
        )
        .join(AccessEntry, AccessEntry.member_id == TeamMember.id)
        .where(
            TeamMember.engagement_id.in_(_IDS),
            TeamMember.end_date.is_not(None),
            AccessEntry.revoked_at.is_(None),
        )
    )
    approved = _kind(
        _APPROVED,
        ChangeRequest.engagement_id,
        ChangeRequest.id,
        s1=ChangeRequest.why,
        t1=ChangeRequest.decided_at,
        n1=ChangeRequest.schedule_delta_days,
        x1=ChangeRequest.cost_delta_monthly,
        x2=ChangeRequest.cost_delta_total,
    ).where(ChangeRequest.engagement_id.in_(_IDS), ChangeRequest.state == APPROVED)
    targets = (
        _kind(
            _TARGET,
            Milestone.engagement_id,
            MilestoneTarget.id,
            n1=MilestoneTarget.milestone_id,
            n2=SuccessMetric.id,
            s1=SuccessMetric.name,
            s2=SuccessMetric.unit,
            s3=SuccessMetric.direction,
            s4=SuccessMetric.kind,
            f1=MilestoneTarget.target,
            f2=latest_value,
            t1=latest_at,
        )
        .select_from(MilestoneTarget)
        .join(Milestone, Milestone.id == MilestoneTarget.milestone_id)
        .join(SuccessMetric, SuccessMetric.id == MilestoneTarget.metric_id)
        .where(
            Milestone.engagement_id.in_(_IDS),
            Milestone.removed_at.is_(None),
            SuccessMetric.removed_at.is_(None),
        )
    )
    return union_all(milestones, items, access, approved, targets)


_FACTS = _facts_statement()


def gather_facts(engagement_ids: list[int], today: date) -> dict[int, HealthFacts]:
    """Facts for many engagements in one statement (no per-engagement queries)."""
    rows: dict[int, list] = {kind: [] for kind in range(5)}
    if engagement_ids:
        for row in db.session.execute(_FACTS, {"ids": list(engagement_ids)}):
            rows[row.kind].append(row)
    milestones: dict[int, list] = defaultdict(list)
    for row in _sorted(rows[_MILESTONE], lambda r: (r.n1, r.d1, r.row_id)):
        milestones[row.engagement_id].append(
            MilestoneFact(
                row.row_id, row.s1, row.s2, row.n1, row.d1, _aware(row.t1), _aware(row.t2)
            )
        )
    items: dict[int, list] = defaultdict(list)
    for row in _sorted(rows[_ITEM], lambda r: (r.d1, r.row_id)):
        items[row.engagement_id].append(ChecklistDueFact(row.row_id, row.s1, row.s2, row.d1))
    judged: dict[int, list] = defaultdict(list)
    for row in _sorted(rows[_TARGET], lambda r: (r.n1, r.n2)):
        latest = None if row.t1 is None else Point(_aware(row.t1), row.f2)
        judged[row.n1].append(
            judge_target(
                metric_id=row.n2, name=row.s1, unit=row.s2, direction=row.s3,
                target=row.f1, latest=latest, kind=row.s4,
            )
        )  # fmt: skip
    access = _open_access(_sorted(rows[_ACCESS], lambda r: (r.row_id, r.n1)))
    approved: dict[int, list] = defaultdict(list)
    for row in _sorted(rows[_APPROVED], lambda r: (r.t1 is not None, r.t1 or 0, r.row_id)):
        approved[row.engagement_id].append(
            ApprovedFact(row.row_id, row.s1, row.t1, row.n1, row.x1, row.x2)
        )
    return {
        eid: HealthFacts(
            tuple(milestones[eid]),
            tuple(items[eid]),
            targets={m.id: tuple(judged[m.id]) for m in milestones[eid] if m.id in judged},
            open_access=tuple(access[eid]),
            approved=tuple(approved[eid]),
        )
        for eid in engagement_ids
    }


def _sorted(rows: list, key) -> list:
    """One kind's rows in the order its facts were always read in (a UNION ALL has one
    ORDER BY for all kinds; the keys below are each kind's own, never NULL)."""
    return sorted(rows, key=key) if len(rows) > 1 else rows


def _open_access(rows) -> dict[int, list[OpenAccessFact]]:
    """Members with an end date and access not yet revoked, their systems grouped."""
    grouped: dict[tuple, list[str]] = defaultdict(list)
    for row in rows:
        grouped[(row.engagement_id, row.row_id, row.s1, row.d1)].append(row.s2)
    access: dict[int, list[OpenAccessFact]] = defaultdict(list)
    for (eid, member_id, name, end), systems in grouped.items():
        access[eid].append(OpenAccessFact(member_id, name, end, tuple(systems)))
    return access


def _aware(value):
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def engagements_touched(session) -> set[int]:
    """The engagements whose health facts a flush wrote (new, changed or deleted rows of
    HEALTH_INPUTS). Called by derived.py's flush listener, while the flush's changes
    are still visible."""
    touched = set()
    for row in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(row, HEALTH_INPUTS):
            continue
        if isinstance(row, Engagement):
            if row in session.new or (row not in session.deleted and _new_facts(row)):
                touched.add(row.id)
        elif isinstance(row, MilestoneTarget):
            milestone = session.get(Milestone, row.milestone_id)
            if milestone is not None:
                touched.add(milestone.engagement_id)
        elif row.engagement_id is not None:
            touched.add(row.engagement_id)
    return touched


def engagements_inserted(model, rows: list[dict]) -> set[int]:
    """The engagements a set-based INSERT of HEALTH_INPUTS rows wrote facts for (a
    measurement batch): called by derived.py for the ORM INSERTs that bypass the flush."""
    if model is Engagement or not issubclass(model, HEALTH_INPUTS):
        return set()
    if model is MilestoneTarget:
        milestone_ids = {row["milestone_id"] for row in rows if row.get("milestone_id")}
        return set(
            db.session.scalars(
                select(Milestone.engagement_id).where(Milestone.id.in_(milestone_ids))
            )
        )
    return {row["engagement_id"] for row in rows if row.get("engagement_id") is not None}


def _new_facts(engagement: Engagement) -> bool:
    state = inspect(engagement)
    return any(
        attr.history.has_changes() for attr in state.attrs if attr.key not in NOT_HEALTH_FACTS
    )
