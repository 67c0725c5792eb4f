"""Walk-away drills: client-side people record them; a failed or partial one opens a follow-up.

A drill belongs to a shadow assignment and one of its areas. Only the client side
records outcomes (managers, admins, and the assignment's own shadow); the provider's
people see drills and comment on them. A drill that did not pass opens a
knowledge-transfer checklist item owned by the shadow, due in the definition's
`[handover] drill_follow_up_days`, in the same transaction.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from tracker.auth.permissions import Action, get_visible_engagement, require
from tracker.core import clock
from tracker.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tracker.extensions import db
from tracker.models import (
    ChecklistItem,
    ChecklistKind,
    Drill,
    DrillComment,
    DrillOutcome,
    Engagement,
    Role,
    ShadowAssignment,
    User,
)
from tracker.services.core import audit
from tracker.services.core.transactions import commit_and_derive
from tracker.services.handover.links import local_today
from tracker.services.handover.links import url_problem as _url_problem
from tracker.services.knowledge.shadows import get_shadow
from tracker.services.messaging.webhook_events import engagement_ref
from tracker.services.messaging.webhooks import queue_event
from tracker.services.workflow.workflow_registry import definition_for

OUTCOMES = tuple(o.value for o in DrillOutcome)
_PEOPLE = (
    joinedload(Drill.performed_by),
    joinedload(Drill.observed_by),
    joinedload(Drill.recorded_by),
    joinedload(Drill.follow_up_item),
    # Joined, not selectin: a selectin load skips its query when there is no drill, and
    # the statement count must not depend on the data.
    joinedload(Drill.comments).joinedload(DrillComment.author),
)


def list_for_shadow(actor: User, shadow_id: int) -> list[Drill]:
    """The drills of one shadow assignment the actor may see, newest first."""
    assignment = get_shadow(actor, shadow_id)
    query = select(Drill).where(Drill.shadow_id == assignment.id).options(*_PEOPLE)
    ordered = query.order_by(Drill.performed_on.desc(), Drill.id.desc())
    return list(db.session.scalars(ordered).unique())


def list_for_engagement(actor: User, engagement_id: int) -> list[Drill]:
    """Every drill of an engagement the actor may see, newest first."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    query = (
        select(Drill)
        .where(Drill.engagement_id == engagement.id)
        .options(*_PEOPLE, joinedload(Drill.shadow).joinedload(ShadowAssignment.member))
        .order_by(Drill.performed_on.desc(), Drill.id.desc())
    )
    return list(db.session.scalars(query).unique())


def _may_record(actor: User, assignment: ShadowAssignment) -> None:
    """Client-side people only: the shadow themself, or whoever may edit the engagement."""
    if actor.role == Role.PROVIDER:
        raise Forbidden("Only client-side people record drill outcomes; providers can comment.")
    if actor.id != assignment.shadow_id:
        require(actor, Action.EDIT, assignment.engagement)


def record_drill(actor: User, shadow_id: int, data: dict) -> Drill:
    """Record a drill; one that failed or partly passed opens the shadow's follow-up item."""
    assignment = get_shadow(actor, shadow_id)
    engagement = assignment.engagement
    _may_record(actor, assignment)
    if engagement.is_closed:
        raise Conflict("The engagement is closed; its drills are final.")
    _check(actor, assignment, data)
    drill = Drill(
        engagement_id=engagement.id,
        shadow_id=assignment.id,
        area=data["area"].strip(),
        task=data["task"].strip(),
        performed_by_id=data["performed_by_id"],
        observed_by_id=data.get("observed_by_id"),
        performed_on=data["performed_on"],
        outcome=data["outcome"],
        minutes=data.get("minutes"),
        missing=(data.get("missing") or "").strip(),
        evidence_url=(data.get("evidence_url") or "").strip(),
        recorded_by_id=actor.id,
    )
    db.session.add(drill)
    if drill.outcome != DrillOutcome.PASSED:
        drill.follow_up_item = open_follow_up(engagement, assignment, drill, clock.now().date())
    db.session.flush()
    summary = _summary(drill, assignment)
    audit.record(engagement, actor, "drill_recorded", data=summary)
    event = {"engagement": engagement_ref(engagement), "drill": summary}
    queue_event(db.session(), "drill.recorded", event, engagement_id=engagement.id)
    commit_and_derive()
    return drill


def comment_on_drill(actor: User, drill_id: int, body: str) -> DrillComment:
    """Anyone who may see the drill and log knowledge (providers included) comments on it."""
    drill = _visible_drill(actor, drill_id)
    require(actor, Action.LOG_KNOWLEDGE, drill.engagement)
    text = (body or "").strip()
    if not text:
        raise ValidationFailed("The comment is empty.", errors={"body": ["Write something."]})
    comment = DrillComment(drill_id=drill.id, author_id=actor.id, body=text)
    drill.comments.append(comment)
    data = {"drill": drill.id, "area": drill.area, "task": drill.task}
    audit.record(drill.engagement, actor, "drill_commented", data=data)
    commit_and_derive()
    return comment


def get_drill(actor: User, drill_id: int) -> Drill:
    """One drill the actor may see (else NotFound, as if it did not exist)."""
    return _visible_drill(actor, drill_id)


def _visible_drill(actor: User, drill_id: int) -> Drill:
    drill = db.session.get(Drill, drill_id)
    if drill is None:
        raise NotFound("Drill not found.")
    get_visible_engagement(db.session, actor, drill.engagement_id, missing="Drill not found.")
    return drill


def open_follow_up(engagement: Engagement, assignment: ShadowAssignment, drill: Drill, today):
    """Add the knowledge-transfer item a drill that did not pass opens, owned by the shadow
    and due in the definition's `drill_follow_up_days` (no commit)."""

    definition = definition_for(engagement.workflow_name, engagement.workflow_version)
    days = definition.handover.drill_follow_up_days
    position = 1 + max(
        db.session.scalars(
            select(ChecklistItem.position).where(
                ChecklistItem.engagement_id == engagement.id,
                ChecklistItem.kind == ChecklistKind.KNOWLEDGE_TRANSFER,
            )
        ),
        default=-1,
    )
    word = "failed" if drill.outcome == DrillOutcome.FAILED else "partly passed"
    item = ChecklistItem(
        engagement_id=engagement.id,
        kind=ChecklistKind.KNOWLEDGE_TRANSFER,
        title=f"Drill again: {drill.task} ({drill.area}), {word} on {drill.performed_on}"[:200],
        owner_id=assignment.shadow_id,
        due_date=today + timedelta(days=days),
        note=drill.missing,
        position=position,
    )
    db.session.add(item)
    return item


def _check(actor: User, assignment: ShadowAssignment, data: dict) -> None:
    """Every problem with the drill at once, each under the field it concerns."""
    errors: dict[str, list[str]] = {}
    area = (data.get("area") or "").strip()
    if area not in (assignment.areas or []):
        known = ", ".join(assignment.areas or []) or "none"
        errors["area"] = [f"Choose one of this assignment's areas: {known}."]
    if not (data.get("task") or "").strip():
        errors["task"] = ["Say what was done (retrain, deploy, roll back …)."]
    if problem := _performer_problem(data.get("performed_by_id")):
        errors["performed_by_id"] = [problem]
    observer = data.get("observed_by_id")
    if observer is not None and db.session.get(User, observer) is None:
        errors["observed_by_id"] = ["No such user."]
    errors.update(_date_problem(data.get("performed_on"), local_today(actor)))
    if data.get("outcome") not in OUTCOMES:
        errors["outcome"] = [f"One of {', '.join(OUTCOMES)}."]
    minutes = data.get("minutes")
    if minutes is not None and not (isinstance(minutes, int) and 1 <= minutes <= 24 * 60):
        errors["minutes"] = ["Between 1 and 1440 minutes."]
    if problem := _url_problem(data.get("evidence_url") or ""):
        errors["evidence_url"] = [problem]
    if errors:
        raise ValidationFailed("The drill could not be recorded.", errors=errors)


def _performer_problem(user_id) -> str | None:
    if user_id is None:
        return "Name the internal engineer who did the task alone."
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.is_active:
        return "No such active user."
    if user.role == Role.PROVIDER:
        return "A drill is done by an internal engineer, not by the provider's people."
    if user.role == Role.AUDITOR:
        return "A drill is done by an internal engineer; an auditor only reads."
    return None


def _date_problem(day, today) -> dict[str, list[str]]:
    if day is None:
        return {"performed_on": ["Give the day the drill was done."]}
    if day > today:  # the recorder's today: their time zone, not UTC
        return {"performed_on": ["A drill cannot be in the future; record it once it is done."]}
    return {}


def _summary(drill: Drill, assignment: ShadowAssignment) -> dict:
    """What the audit trail and the webhook say about a drill (names beside ids)."""
    performer = db.session.get(User, drill.performed_by_id)
    return {
        "id": drill.id,
        "shadow": assignment.id,
        "member": assignment.member.name,
        "area": drill.area,
        "task": drill.task,
        "outcome": drill.outcome,
        "performed_on": drill.performed_on.isoformat(),
        "performed_by": performer.name if performer else None,
        "follow_up_item_id": drill.follow_up_item_id,
    }
