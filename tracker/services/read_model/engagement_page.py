"""What the engagement page and the forms on it read, each in one query (no per-row loads).

Part of the engagement read model (the package docstring lists the rest). `engagement_view`
reads each of an engagement's facts once and judges them once: the page's sections show
the rows it holds, and the transitions, the readiness and the exit's open items are judged
on the Subject built from those same rows (ADR 0230). The page itself is assembled in
`tracker.web.overview`; the web layer memoises the view per request. What takes an actor
answers NotFound for what the actor may not see, exactly as for what does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, select, true
from sqlalchemy.orm import joinedload, selectinload

from tracker.auth.permissions import get_visible_engagement
from tracker.errors import NotFound
from tracker.extensions import db
from tracker.models import (
    CLIENT_ONLY_KEYS,
    AccessEntry,
    Adr,
    Artifact,
    AuditEvent,
    ChecklistItem,
    ChecklistKind,
    Engagement,
    ExitConfirmation,
    Milestone,
    MilestoneUpdate,
    ShadowAssignment,
    TeamMember,
    User,
)
from tracker.services.core.audit import audience_clause
from tracker.services.handover import access, exits
from tracker.services.handover.facts import access_facts_of, drill_facts, exit_fact
from tracker.services.judgments.readiness import Readiness, readiness_of_subject
from tracker.services.knowledge.adrs import engagement_adrs
from tracker.services.knowledge.artifacts import engagement_artifacts
from tracker.services.knowledge.shadows import engagement_shadows
from tracker.services.workflow.subjects import (
    EvidenceRows,
    SubjectRows,
    evidence_facts_of,
    evidence_rows,
    subject_from,
)
from workflows import Subject


def visible_engagement(actor: User, engagement_id: int, missing: str | None = None) -> Engagement:
    """The engagement if `actor` may see it; NotFound (saying `missing`) otherwise."""
    return get_visible_engagement(
        db.session, actor, engagement_id, missing or "Engagement not found."
    )


def hold_people(engagement: Engagement) -> list[User]:
    """The engagement's owner and technical contact, read in one statement, so the
    judgments that read them (the technical contact, `subject_from`) cost the same whether
    they are set, and whoever they are. A page that offers no list of people (issue 29)
    keeps the returned list while it renders: the session holds its rows only while
    something refers to them."""
    ids = {engagement.owner_id, engagement.technical_contact_id} - {None}
    return list(db.session.scalars(select(User).where(User.id.in_(ids))))


def visible_part(actor: User, model, row_id: int):
    """A row of an engagement (checklist item, milestone, member) `actor` may see."""
    row = db.session.get(model, row_id)
    missing = f"{model.__name__} not found."  # the same answer whether absent or invisible
    if row is None:
        raise NotFound(missing)
    get_visible_engagement(db.session, actor, row.engagement_id, missing)
    return row


@dataclass(frozen=True)
class EngagementView:
    """One engagement's facts, each read once, and the judgments made on them.

    The lists are the rows the page shows (in its order, with what it shows of them
    loaded); `subject` is the same rows as the workflow engine's facts, and `readiness`
    is judged on that subject, so a section's figures and a judgment cannot disagree.
    """

    engagement: Engagement
    milestones: list[Milestone]  # live ones, by period and due date, with their updates
    checklist: list[ChecklistItem]  # every kind (the guards judge them all)
    members: list[TeamMember]
    shadows: list[ShadowAssignment]  # with people and sessions
    adrs: list[Adr]  # by number, with supersede links
    artifacts: list[Artifact]  # by kind, with owners
    access: list[AccessEntry]  # every entry; `access.visible_entries` for a viewer
    exit: ExitConfirmation | None
    subject: Subject
    readiness: Readiness
    evidence: EvidenceRows  # live metrics and every target: the Evidence card reads them too

    def checklists_by_kind(self, *, client_only: bool = True) -> dict[str, list[ChecklistItem]]:
        """The items by checklist; `client_only=False` leaves out the client's own items
        (the hiring evaluation) for who may not see cost."""
        grouped: dict[str, list[ChecklistItem]] = {kind.value: [] for kind in ChecklistKind}
        for item in self.checklist:
            if client_only or item.key is None or item.key not in CLIENT_ONLY_KEYS:
                grouped.setdefault(item.kind, []).append(item)
        return grouped


def engagement_view(engagement: Engagement, today: date) -> EngagementView:
    """Read the engagement's facts once each (15 statements whatever their number) and
    judge them; the caller has checked that its user may see the engagement."""
    members = list(engagement.members)
    milestones = milestones_with_updates(engagement.id)
    checklist = _checklist(engagement.id, True)
    shadows, adrs = engagement_shadows(engagement.id), engagement_adrs(engagement.id)
    artifacts = engagement_artifacts(engagement.id)
    entries, exit_row = access.engagement_entries(engagement.id), exits.exit_of(engagement.id)
    names = {m.id: m.name for m in members}
    evidence = evidence_rows(engagement.id)
    rows = SubjectRows(
        milestones=milestones,
        checklist=checklist,
        members=members,
        shadows=shadows,
        adrs=adrs,
        artifacts=artifacts,
        evidence=evidence_facts_of(evidence),
        handover={
            "drills": drill_facts([engagement.id]).get(engagement.id, ()),
            "access": access_facts_of(entries, names),
            "exit": exit_fact(exit_row),
        },
    )
    subject = subject_from(engagement, today, rows)
    return EngagementView(
        engagement=engagement,
        milestones=milestones,
        checklist=checklist,
        members=members,
        shadows=shadows,
        adrs=adrs,
        artifacts=artifacts,
        access=entries,
        exit=exit_row,
        subject=subject,
        readiness=readiness_of_subject(engagement, subject),
        evidence=evidence,
    )


# The page's statements are built once, their engagement a bound parameter: building a
# select with its loader options and deriving its cache key cost ~0.4 ms each per request
# (issue 29, ADR 0258); a statement built once keeps its key.
_CHECKLIST = {
    client_only: select(ChecklistItem)
    .where(
        ChecklistItem.engagement_id == bindparam("engagement_id"),
        true()
        if client_only
        else ChecklistItem.key.is_(None) | ChecklistItem.key.not_in(CLIENT_ONLY_KEYS),
    )
    .options(joinedload(ChecklistItem.owner), joinedload(ChecklistItem.completed_by))
    .order_by(ChecklistItem.kind, ChecklistItem.position, ChecklistItem.id)
    for client_only in (True, False)
}


def _checklist(engagement_id: int, client_only: bool) -> list[ChecklistItem]:
    return list(db.session.scalars(_CHECKLIST[client_only], {"engagement_id": engagement_id}))


def checklists_by_kind(
    engagement_id: int, *, client_only: bool = True
) -> dict[str, list[ChecklistItem]]:
    """The items by checklist; `client_only=False` leaves out the client's own items (the
    hiring evaluation) for who may not see cost."""
    grouped: dict[str, list[ChecklistItem]] = {kind.value: [] for kind in ChecklistKind}
    for item in _checklist(engagement_id, client_only):
        grouped.setdefault(item.kind, []).append(item)
    return grouped


_MILESTONES = (
    select(Milestone)
    .where(Milestone.engagement_id == bindparam("engagement_id"), Milestone.removed_at.is_(None))
    .options(
        selectinload(Milestone.updates).joinedload(MilestoneUpdate.author),
        joinedload(Milestone.verdict_by),
    )
    .order_by(Milestone.period, Milestone.due_date, Milestone.id)
)


def milestones_with_updates(engagement_id: int) -> list[Milestone]:
    return list(db.session.scalars(_MILESTONES, {"engagement_id": engagement_id}))


# What the page's trail shows of an entry, as rows rather than entities: an entity cost
# ~25 µs to load, 50 of them a page (ADR 0258); `audit_sentence` reads these attributes.
_AUDIT_COLUMNS = (
    AuditEvent.id,
    AuditEvent.kind,
    AuditEvent.event,
    AuditEvent.from_state,
    AuditEvent.to_state,
    AuditEvent.actor_label,
    AuditEvent.reason,
    AuditEvent.data,
    AuditEvent.created_at,
)
_RECENT_AUDIT = {
    can_view_cost: select(*_AUDIT_COLUMNS)
    .where(AuditEvent.engagement_id == bindparam("engagement_id"), audience_clause(can_view_cost))
    .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    .limit(bindparam("limit"))
    for can_view_cost in (True, False)
}


def recent_audit(engagement_id: int, limit: int, can_view_cost: bool) -> list:
    """The newest entries this audience may read (cost changes only for the client side),
    as rows of what the trail shows (`_AUDIT_COLUMNS`), not entities."""
    params = {"engagement_id": engagement_id, "limit": limit}
    return list(db.session.execute(_RECENT_AUDIT[can_view_cost], params))
