"""What health is judged from: the facts of many engagements in a few queries, and which
written rows are those facts (HEALTH_INPUTS), so the unit of work re-judges the right
engagements before it commits (services/derived.py). Reads only; writes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import bindparam, inspect, select

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
from tracker.services.change_requests.drift import ApprovedFact, approved_facts
from tracker.services.evidence import reads as evidence_reads
from tracker.services.evidence.judgment import TargetStatus

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


# The fact queries, built once with the engagement ids as an expanding parameter: a
# statement object keeps its compiled-SQL cache key, so each re-judgement (every
# milestone update's commit) skips building and walking them (issue 29).
_IDS = bindparam("ids", expanding=True)
_MILESTONE_FACTS = (
    select(Milestone.engagement_id, Milestone.id, Milestone.title, Milestone.status)
    .add_columns(Milestone.period, Milestone.due_date, Milestone.last_update_at)
    .add_columns(Milestone.created_at)
    .where(Milestone.engagement_id.in_(_IDS), Milestone.removed_at.is_(None))
    .order_by(Milestone.period, Milestone.due_date, Milestone.id)
)
_OPEN_ITEM_FACTS = (
    select(ChecklistItem.engagement_id, ChecklistItem.id, ChecklistItem.title)
    .add_columns(ChecklistItem.kind, ChecklistItem.due_date)
    .where(
        ChecklistItem.engagement_id.in_(_IDS),
        ChecklistItem.status == "open",
        ChecklistItem.due_date.is_not(None),
    )
    .order_by(ChecklistItem.due_date, ChecklistItem.id)
)
_OPEN_ACCESS_FACTS = (
    select(TeamMember.engagement_id, TeamMember.id, TeamMember.name, TeamMember.end_date)
    .add_columns(AccessEntry.system)
    .join(AccessEntry, AccessEntry.member_id == TeamMember.id)
    .where(
        TeamMember.engagement_id.in_(_IDS),
        TeamMember.end_date.is_not(None),
        AccessEntry.revoked_at.is_(None),
    )
    .order_by(TeamMember.id, AccessEntry.id)
)


def gather_facts(engagement_ids: list[int], today: date) -> dict[int, HealthFacts]:
    """Facts for many engagements in three queries (no per-engagement queries)."""
    milestones: dict[int, list] = defaultdict(list)
    for row in db.session.execute(_MILESTONE_FACTS, {"ids": engagement_ids}):
        fact = MilestoneFact(*row[1:6], _aware(row[6]), _aware(row[7]))
        milestones[row.engagement_id].append(fact)
    items: dict[int, list] = defaultdict(list)
    for row in db.session.execute(_OPEN_ITEM_FACTS, {"ids": engagement_ids}):
        items[row.engagement_id].append(ChecklistDueFact(*row[1:]))
    judged = evidence_reads.target_statuses(m.id for ms in milestones.values() for m in ms)
    access = _open_access(engagement_ids)
    approved = approved_facts(engagement_ids)
    return {
        eid: HealthFacts(
            tuple(milestones[eid]),
            tuple(items[eid]),
            targets={m.id: tuple(judged[m.id]) for m in milestones[eid] if m.id in judged},
            open_access=tuple(access[eid]),
            approved=tuple(approved.get(eid, ())),
        )
        for eid in engagement_ids
    }


def _open_access(engagement_ids: list[int]) -> dict[int, list[OpenAccessFact]]:
    """Members with an end date and access not yet revoked, one query for all."""
    grouped: dict[tuple, list[str]] = defaultdict(list)
    for row in db.session.execute(_OPEN_ACCESS_FACTS, {"ids": engagement_ids}):
        grouped[tuple(row[:4])].append(row[4])
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
