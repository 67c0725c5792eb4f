"""Knowledge-retention readiness: a 0-100 score per engagement with its breakdown and gaps.

Five parts, weighted by the definition's [readiness] table (workflows/meaning.py):
the knowledge-transfer checklist, shadows signed off, areas proven by a passed
walk-away drill (issue 30), ADRs decided and a runbook.
A part with nothing recorded counts zero, not full credit ("ADRs: none recorded
yet"); a part counts as not applicable only where the definition says so. The
gaps come from the workflow engine's own guard functions (the ones the default
definition's `close` transition runs), applied to the same facts, plus a gap for
each applicable part with nothing recorded: the score is 100 exactly when there
is no gap. `readiness_many` loads any number of engagements in a constant number
of queries (dashboard, digests, API lists).

Lists read the score and the number of gaps from two cached columns on the
engagement row. The derived-data pipeline rewrites them once per unit of work, right
before its commit, for the engagements whose inputs (team members, shadows, ADRs,
artifacts, checklist items, drills, access entries, the exit) any of its flushes
added, changed or deleted, so no service has to remember to, and the cache commits
with the change (docs/adr/0244).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from types import MappingProxyType, SimpleNamespace

from sqlalchemy import bindparam, select
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

from tracker.auth.permissions import get_visible_engagement
from tracker.core import clock
from tracker.extensions import db
from tracker.models import (
    AccessEntry,
    Adr,
    Artifact,
    ChecklistItem,
    ChecklistKind,
    Drill,
    Engagement,
    ExitConfirmation,
    ShadowAssignment,
    TeamMember,
    User,
)
from tracker.models.engagement import cached_values_update
from tracker.services.handover.facts import handover_facts
from tracker.services.workflow import lifecycle
from workflows import (
    AdrFact,
    ArtifactFact,
    ChecklistFact,
    Definition,
    MemberFact,
    ShadowFact,
    Subject,
    Unmet,
    areas_owed,
)
from workflows.guards import (
    artifact_present,
    checklist_complete,
    no_proposed_adrs,
    shadows_signed_off,
)
from workflows.handover import DEFAULT_DRILL_WINDOW_DAYS, areas_drilled
from workflows.meaning import ReadinessRules

KT = ChecklistKind.KNOWLEDGE_TRANSFER.value
READINESS_INPUTS = (TeamMember, ShadowAssignment, Adr, Artifact, ChecklistItem)
# Drills weigh directly; access entries and the exit complete bound checklist items.
READINESS_INPUTS += (Drill, AccessEntry, ExitConfirmation)
_CHUNK = 500


@dataclass(frozen=True)
class ReadinessPart:
    """One line of the breakdown: `done` of `total`, in words, with what is missing."""

    name: str
    label: str
    done: int
    total: int
    detail: str
    gaps: tuple[Unmet, ...] = ()
    weight: int = 0
    applicable: bool = True

    @property
    def fraction(self) -> float:
        """Nothing recorded is nothing done: 0 of 0 counts zero."""
        return 0.0 if self.total == 0 else self.done / self.total

    @property
    def points(self) -> float:
        """What this part adds to the score (0 when not applicable)."""
        return self.weight * self.fraction if self.applicable else 0.0

    @property
    def is_complete(self) -> bool:
        return not self.gaps


@dataclass(frozen=True)
class Readiness:
    """The score (0-100, 100 only when nothing is missing) and its parts."""

    score: int
    parts: list[ReadinessPart] = field(default_factory=list)

    @property
    def gaps(self) -> list[Unmet]:
        return [gap for part in self.parts if part.applicable for gap in part.gaps]

    @property
    def summary(self) -> str:
        """The breakdown in one line, for digests and tooltips."""
        return "; ".join(f"{p.label}: {p.detail}" for p in self.parts if p.applicable)

    @property
    def is_ready(self) -> bool:
        return not self.gaps


def readiness_for(actor: User, engagement_id: int) -> Readiness:
    """Readiness of an engagement the actor may see (else NotFound)."""
    return readiness(get_visible_engagement(db.session, actor, engagement_id))


def readiness(engagement: Engagement) -> Readiness:
    """Readiness of one engagement (fresh from the database)."""
    return readiness_many([engagement.id])[engagement.id]


def readiness_of_subject(engagement: Engagement, subject: Subject) -> Readiness:
    """Readiness judged from a Subject already built for the engine's guards (the
    engagement page's read model): the same facts, so the same breakdown as `readiness`."""
    definition = lifecycle.definition_of(engagement)
    bindings = definition.bindings if definition is not None else {}
    facts = replace(subject, state="", bindings=MappingProxyType(dict(bindings)))
    return score_facts(facts, _readiness_rules(definition))


def readiness_many(engagement_ids: Iterable[int]) -> dict[int, Readiness]:
    """Readiness of many engagements in nine queries, whatever their number."""
    ids = sorted(set(engagement_ids))
    if not ids:
        return {}
    definitions = _definitions(ids)
    facts = _load_facts(ids, definitions)
    return {i: score_facts(facts[i], _readiness_rules(definitions[i])) for i in ids}


# The engagement ids of every statement below built once: an expanding parameter, so each
# statement keeps its compiled-SQL cache key (ADR 0238).
_IDS = bindparam("ids", expanding=True)
_DEFINITION_KEYS = ("workflow_name", "workflow_version", "workflow_hash", "state", "closed_at")
_DEFINITION_ROWS = select(
    Engagement.id, *(getattr(Engagement, key) for key in _DEFINITION_KEYS)
).where(Engagement.id.in_(_IDS))


def _definitions(ids: list[int]) -> dict[int, Definition | None]:
    """Each engagement's definition (None when it cannot be loaded), one query for all."""
    keys = _DEFINITION_KEYS
    found = {
        row[0]: lifecycle.definition_of(SimpleNamespace(**dict(zip(keys, row[1:], strict=True))))
        for row in db.session.execute(_DEFINITION_ROWS, {"ids": ids})
    }
    return {i: found.get(i) for i in ids}


def _readiness_rules(definition: Definition | None) -> ReadinessRules:
    return definition.readiness if definition is not None else ReadinessRules()


def score_facts(subject: Subject, rules: ReadinessRules | None = None) -> Readiness:
    """The breakdown for one engagement's facts (pure: no database)."""
    rules = rules or ReadinessRules()
    # In the order of the default definition's close guards, so the gap lists read alike.
    parts = [_checklist_part(subject), _shadow_part(subject), _drill_part(subject)]
    parts.append(_adr_part(subject))
    parts.append(_runbook_part(subject))
    parts = [_weighed(part, rules) for part in parts]
    weight = sum(p.weight for p in parts if p.applicable)
    score = math.floor(100 * sum(p.points for p in parts) / weight) if weight else 0
    if any(p.gaps for p in parts if p.applicable):
        score = min(score, 99)  # never round up to "ready" while something is missing
    return Readiness(score=score, parts=parts)


def _weighed(part: ReadinessPart, rules: ReadinessRules) -> ReadinessPart:
    applicable = part.name not in rules.not_applicable
    gaps = part.gaps
    if applicable and part.total == 0 and not gaps:
        gaps = (Unmet("readiness_nothing_recorded", f"{part.label}: {part.detail.lower()}"),)
    detail = part.detail if applicable else "not applicable to this kind of engagement"
    return replace(
        part,
        weight=rules.weights.get(part.name, 0),
        applicable=applicable,
        gaps=gaps,
        detail=detail,
    )


def _shadow_part(subject: Subject) -> ReadinessPart:
    gaps = tuple(shadows_signed_off(subject, {}))
    total = len(areas_owed(subject))
    done = total - len(gaps)
    detail = f"{done} of {total} external areas have a signed-off shadow"
    if total == 0:
        detail = "None recorded yet (no external member areas)"
    return ReadinessPart("shadows", "Shadows signed off", done, total, detail, gaps)


def _drill_part(subject: Subject) -> ReadinessPart:
    """Areas proven by a passed walk-away drill (the close guard's own judgment)."""
    gaps = tuple(areas_drilled(subject, {"within_days": DEFAULT_DRILL_WINDOW_DAYS}))
    total = len(areas_owed(subject))
    done = total - len(gaps)
    detail = f"{done} of {total} external areas proven by a passed drill"
    if total == 0:
        detail = "None recorded yet (no external member areas)"
    return ReadinessPart("drills", "Areas drilled", done, total, detail, gaps)


def _adr_part(subject: Subject) -> ReadinessPart:
    gaps = tuple(no_proposed_adrs(subject, {}))
    accepted = sum(1 for a in subject.adrs if a.status == "accepted")
    total = accepted + len(gaps)
    detail = f"{accepted} accepted, {len(gaps)} still proposed"
    if not subject.adrs:
        detail = "None recorded yet"
    return ReadinessPart("adrs", "ADRs decided", accepted, total, detail, gaps)


def _checklist_part(subject: Subject) -> ReadinessPart:
    gaps = tuple(checklist_complete(subject, {"kind": KT}))
    total = sum(1 for c in subject.checklist if c.kind == KT)
    done = total - len(gaps)
    detail = f"{done} of {total} knowledge-transfer items done" if total else "None recorded yet"
    return ReadinessPart("kt_checklist", "Knowledge-transfer checklist", done, total, detail, gaps)


def _runbook_part(subject: Subject) -> ReadinessPart:
    gaps = tuple(artifact_present(subject, {"kind": "runbook"}))
    count = sum(1 for a in subject.artifacts if a.kind == "runbook")
    detail = f"{count} runbook{'s' if count != 1 else ''} linked" if count else "None linked yet"
    return ReadinessPart("runbooks", "Runbook", min(count, 1), 1, detail, gaps)


# The readiness inputs of any number of engagements, each read by one statement built once
# (`_IDS`): an `aliased(User)` made per call re-adapted its columns on every store.
_KT_OWNER = aliased(User, name="kt_owner")
_MEMBERS = (
    select(TeamMember.engagement_id, TeamMember.id, TeamMember.name)
    .add_columns(TeamMember.is_external, TeamMember.areas, TeamMember.end_date)
    .where(TeamMember.engagement_id.in_(_IDS))
    .order_by(TeamMember.id)
)
_SHADOWS = (
    select(ShadowAssignment.engagement_id, ShadowAssignment.id, ShadowAssignment.member_id)
    .add_columns(User.name, ShadowAssignment.areas, ShadowAssignment.signed_off_at)
    .join(User, User.id == ShadowAssignment.shadow_id)
    .where(ShadowAssignment.engagement_id.in_(_IDS))
    .order_by(ShadowAssignment.id)
)
_ADRS = (
    select(Adr.engagement_id, Adr.id, Adr.number, Adr.title, Adr.status)
    .where(Adr.engagement_id.in_(_IDS))
    .order_by(Adr.number)
)
_ARTIFACTS = (
    select(Artifact.engagement_id, Artifact.id, Artifact.kind, Artifact.title)
    .where(Artifact.engagement_id.in_(_IDS))
    .order_by(Artifact.id)
)
# KT items with their template key (readiness judges a bound item by its fact, as the
# close guard does; the bindings come with the definitions).
_KT_ITEMS = (
    select(ChecklistItem.engagement_id, ChecklistItem.id, ChecklistItem.kind)
    .add_columns(ChecklistItem.title, ChecklistItem.status, _KT_OWNER.name)
    .add_columns(ChecklistItem.due_date, ChecklistItem.key)
    .outerjoin(_KT_OWNER, _KT_OWNER.id == ChecklistItem.owner_id)
    .where(ChecklistItem.engagement_id.in_(_IDS), ChecklistItem.kind == KT)
    .order_by(ChecklistItem.id)
)


def _load_facts(ids: list[int], definitions: dict[int, Definition | None]) -> dict[int, Subject]:
    """Members, shadows, ADRs, artifacts and KT items of every engagement: one query each;
    the checklist bindings from each engagement's definition."""
    grouped: dict[str, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    for i, definition in definitions.items():
        bindings = definition.bindings if definition is not None else {}
        grouped["bindings"][i] = MappingProxyType(dict(bindings))
    params = {"ids": ids}
    for row in db.session.execute(_MEMBERS, params):
        member = MemberFact(row[1], row[2], row[3], tuple(row[4] or ()), row[5])
        grouped["members"][row[0]].append(member)
    for row in db.session.execute(_SHADOWS, params):
        fact = ShadowFact(row[1], row[2], row[3], tuple(row[4] or ()), row[5] is not None)
        grouped["shadows"][row[0]].append(fact)
    for row in db.session.execute(_ADRS, params):
        grouped["adrs"][row[0]].append(AdrFact(*row[1:]))
    for row in db.session.execute(_ARTIFACTS, params):
        grouped["artifacts"][row[0]].append(ArtifactFact(*row[1:]))
    for row in db.session.execute(_KT_ITEMS, params):
        grouped["checklist"][row[0]].append(ChecklistFact(*row[1:8]))
    _load_handover(ids, grouped)
    return {i: _subject(i, grouped) for i in ids}


def _load_handover(ids: list[int], grouped) -> None:
    """Drills, access entries and exit confirmations: three queries for all."""
    names = {m.id: m.name for members in grouped["members"].values() for m in members}
    for i, facts in handover_facts(ids, names).items():
        grouped["drills"][i] = list(facts["drills"])
        grouped["access"][i] = list(facts["access"])
        grouped["exit_fact"][i] = facts["exit"]


def _subject(engagement_id: int, grouped) -> Subject:
    lists = grouped.keys() - {"bindings", "exit_fact"}
    facts = {name: tuple(grouped[name].get(engagement_id, ())) for name in lists}
    facts["exit"] = grouped["exit_fact"][engagement_id]
    bindings = grouped["bindings"].get(engagement_id, MappingProxyType({}))
    return Subject(state="", today=clock.now().date(), bindings=bindings, **facts)


# -- the cached score on the engagement row ---------------------------------------------------


def store_readiness(engagement_ids: Iterable[int]) -> int:
    """Recompute and cache score and gap count for these engagements (no commit).

    Written with `cached_values_update`: a provider's new ADR must not make a
    manager's ETag stale.
    """
    ids = sorted(set(engagement_ids))
    statement = cached_values_update(
        readiness_score=bindparam("score"),
        readiness_gaps=bindparam("gaps"),
        readiness_parts=bindparam("parts"),
    )
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        _lock_rows(chunk)
        scores = readiness_many(chunk)
        rows = [
            {"row_id": i, "score": r.score, "gaps": len(r.gaps), "parts": stored_parts(r)}
            for i, r in scores.items()
        ]
        db.session.execute(statement, rows, execution_options={"synchronize_session": False})
        _sync_identity_map(rows)
    return len(ids)


def _lock_rows(ids: list[int]) -> None:
    """Serialise scoring per engagement, so the last writer has seen every input.

    Without it two transactions changing different inputs (an artifact, a checklist
    item) could each score without the other's change, and the later commit would
    cache a stale score. On PostgreSQL, READ COMMITTED lets the waiter's next query
    see what the holder committed. It is FOR NO KEY UPDATE because a child row's
    foreign key check takes KEY SHARE on the engagement; FOR UPDATE would deadlock
    two such transactions. SQLite serialises writers anyway (SQLAlchemy drops the
    clause there).
    """
    db.session.execute(
        select(Engagement.id)
        .where(Engagement.id.in_(ids))
        .order_by(Engagement.id)
        .with_for_update(key_share=True)
    )


def _sync_identity_map(rows: list[dict]) -> None:
    """Engagements already loaded in this session see the new values without a reload."""
    for row in rows:
        engagement = db.session.identity_map.get(db.session.identity_key(Engagement, row["row_id"]))
        if engagement is not None:
            set_committed_value(engagement, "readiness_score", row["score"])
            set_committed_value(engagement, "readiness_gaps", row["gaps"])
            set_committed_value(engagement, "readiness_parts", row["parts"])


def stored_parts(readiness: Readiness) -> list[dict]:
    """The breakdown as JSON for `Engagement.readiness_parts`: each part's figures and
    words, which is what a list draws as a bar (`parts_from_stored`). Not the gaps'
    sentences: no list shows them (`readiness_gaps` counts them) and they were nine
    tenths of the JSON every dashboard row read back (docs/adr/0251). Pages that show
    the gaps judge them from the facts (`readiness_many`)."""
    return [
        {
            "name": p.name,
            "label": p.label,
            "done": p.done,
            "total": p.total,
            "detail": p.detail,
            "weight": p.weight,
            "applicable": p.applicable,
        }
        for p in readiness.parts
    ]


def parts_from_stored(score: int, parts: list[dict]) -> Readiness:
    """The score and each part's figures and words as cached on the row, without the
    gaps' sentences: what a list draws as a bar (`readiness_gaps`, written with them,
    counts the gaps). Each part's `gaps` stays empty; judge nothing from this."""
    fields = ("name", "label", "done", "total", "detail", "weight", "applicable")
    return Readiness(
        score=score,
        parts=[ReadinessPart(**{key: part[key] for key in fields}) for part in parts],
    )


def engagements_touched(session) -> set[int]:
    """The engagements whose readiness inputs a flush wrote (new, changed or deleted
    rows of READINESS_INPUTS, and new engagements). Called by derived.py's flush
    listener, while the flush's changes are still visible."""
    touched = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, READINESS_INPUTS) and obj.engagement_id is not None:
            touched.add(obj.engagement_id)
        elif isinstance(obj, Engagement) and obj in session.new:
            touched.add(obj.id)
    return touched


def engagements_inserted(model, rows: list[dict]) -> set[int]:
    """The engagements a set-based INSERT of READINESS_INPUTS rows wrote inputs for."""
    if not issubclass(model, READINESS_INPUTS):
        return set()
    return {row["engagement_id"] for row in rows if row.get("engagement_id") is not None}


def store_readiness_step(engagement_ids: Iterable[int], *, now=None) -> None:
    """The derived-data pipeline's commit step: re-cache readiness, once per unit of work,
    for every engagement whose inputs it changed (`now` is unused: readiness judges
    drills against the clock's today, as the page does)."""
    store_readiness(engagement_ids)
