"""Milestones and the provider's status updates (status, note, evidence links)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from urllib.parse import urlsplit

from sqlalchemy import bindparam, case, select
from sqlalchemy.orm import joinedload, selectinload

from tracker.auth.permissions import (
    Action,
    get_visible_engagement,
    require,
    visibility_rule,
    visible_clause,
    visible_clause_for,
)
from tracker.core import clock
from tracker.errors import Conflict, NotFound, ValidationFailed
from tracker.extensions import db
from tracker.models import (
    FINAL_MILESTONE_STATUSES,
    Engagement,
    Milestone,
    MilestoneStatus,
    MilestoneUpdate,
    User,
)
from tracker.services.change_requests import rules as change_rules
from tracker.services.core import audit
from tracker.services.core.transactions import (
    check_version,
    commit_and_derive,
    losing_race_is_conflict,
)
from tracker.services.delivery import checklists
from tracker.services.evidence import judgment, reads
from workflows.due_dates import due_date_problem

NOTE_MAX = 5000
EVIDENCE_MAX = 10
MILESTONE_FIELDS = ("title", "due_date", "success_criteria")


# A milestone with its engagement, per visibility rule, built once (cache key kept).
_VISIBLE_MILESTONE = {
    rule: select(Milestone, Engagement)
    .join(Engagement, Engagement.id == Milestone.engagement_id)
    .where(Milestone.id == bindparam("milestone_id"), visible_clause_for(rule))
    for rule in ("all", "provider", "followed")
}


def _milestone_for(actor: User, milestone_id: int) -> tuple[Milestone, Engagement]:
    """The milestone and its engagement in one statement when the actor may see it;
    anything else takes the two look-ups that say why (the same 404 either way)."""
    rule, params = visibility_rule(actor)
    row = db.session.execute(_VISIBLE_MILESTONE[rule], {"milestone_id": milestone_id, **params})
    row = row.first()
    if row is not None:
        return row.Milestone, row.Engagement
    milestone = db.session.get(Milestone, milestone_id)
    if milestone is None:
        raise NotFound("Milestone not found.")
    engagement = get_visible_engagement(
        db.session, actor, milestone.engagement_id, missing="Milestone not found."
    )
    return milestone, engagement


def _clean_evidence(evidence: Iterable[str]) -> list[str]:
    links = [link.strip() for link in evidence if link and link.strip()]
    bad = [
        link
        for link in links
        if urlsplit(link).scheme not in ("http", "https")
        or not urlsplit(link).netloc
        or len(link) > 1000
    ]
    errors = {}
    if bad:
        errors["evidence"] = [f"Not an http(s) link: {link[:80]}" for link in bad]
    if len(links) > EVIDENCE_MAX:
        errors["evidence"] = [f"At most {EVIDENCE_MAX} links."]
    if errors:
        raise ValidationFailed("The evidence links are invalid.", errors=errors)
    return links


def _check_status(actor: User, status: str) -> dict[str, list[str]]:
    """Providers report progress; the met/missed verdict is a manager's or an admin's."""
    if status not in {s.value for s in MilestoneStatus}:
        return {"status": [f"Choose one of {', '.join(s.value for s in MilestoneStatus)}."]}
    if status in FINAL_MILESTONE_STATUSES and not actor.is_client_side:
        done = MilestoneStatus.DONE.value
        return {
            "status": [
                f"The verdict ({status}) is given by a manager or an admin; "
                f"report '{done}' when the work is finished."
            ]
        }
    return {}


def _contradiction(milestone: Milestone, status: str) -> str | None:
    """How a verdict contradicts the measured evidence, or None (progress never does)."""
    if status not in FINAL_MILESTONE_STATUSES:
        return None

    targets = reads.target_statuses([milestone.id]).get(milestone.id, [])
    return judgment.against_evidence(status, targets)


def _record_verdict(milestone: Milestone, actor: User, status: str) -> None:
    """Who gave the final verdict and when; any other status clears it."""
    if status in FINAL_MILESTONE_STATUSES:
        milestone.verdict_by_id, milestone.verdict_at = actor.id, clock.now()
    else:
        milestone.verdict_by_id = milestone.verdict_at = None


def record_update(
    actor: User,
    milestone_id: int,
    *,
    status: str,
    note: str = "",
    evidence: Iterable[str] = (),
    reason: str | None = None,
    expected_version: int | None = None,
) -> MilestoneUpdate:
    """The provider's weekly action: a status with a note and evidence, kept as history.

    The verdict (met, missed) takes the same path, given by a manager or an admin; one
    that goes against the measured evidence needs a written `reason` (docs/adr/0185)."""
    milestone, engagement = _milestone_for(actor, milestone_id)
    require(actor, Action.UPDATE_MILESTONE, engagement)
    if engagement.is_closed:
        raise Conflict("The engagement is closed; its milestones are final.")
    check_version(milestone, expected_version, "this milestone", verb="updated")
    errors = _check_status(actor, status)
    if len(note or "") > NOTE_MAX:
        errors["note"] = [f"At most {NOTE_MAX} characters."]
    contradiction = None if errors else _contradiction(milestone, status)
    reason = (reason or "").strip() or None
    if contradiction and reason is None:
        errors["reason"] = [f"This verdict goes against the evidence ({contradiction}); say why."]
    if errors:
        raise ValidationFailed("The update could not be saved.", errors=errors)
    update = MilestoneUpdate(
        milestone_id=milestone.id,
        author_id=actor.id,
        from_status=milestone.status,
        status=status,
        note=note or "",
        evidence=_clean_evidence(evidence),
        reason=reason if status in FINAL_MILESTONE_STATUSES else None,
    )
    db.session.add(update)
    milestone.status, milestone.last_update_at = status, clock.now()
    _record_verdict(milestone, actor, status)
    audit.record(
        engagement,
        actor,
        "milestone_verdict" if status in FINAL_MILESTONE_STATUSES else "milestone_update",
        reason=update.reason or note or None,
        data={
            "milestone_id": milestone.id,
            "title": milestone.title,
            "from": update.from_status,
            "to": status,
            **({"against_evidence": contradiction} if contradiction else {}),
        },
    )
    with losing_race_is_conflict():
        db.session.flush()
        # The answer is the update and its author as written: kept, not selected again.
        commit_and_derive(keep=(update, actor))
    return update


def _check_milestone_fields(data: dict, engagement: Engagement) -> None:
    errors = {}
    if "title" in data and not (data["title"] or "").strip():
        errors["title"] = ["Give the milestone a title."]
    if "due_date" in data:
        due = data["due_date"]
        if not isinstance(due, date):
            errors["due_date"] = ["Give a date."]
        elif problem := due_date_problem(engagement, due):
            errors["due_date"] = [problem]
    if errors:
        raise ValidationFailed("The milestone could not be saved.", errors=errors)


def _editable(actor: User, engagement: Engagement) -> None:
    require(actor, Action.EDIT, engagement)
    if engagement.is_closed:
        raise Conflict("The engagement is closed; its milestones are final.")


def create_milestone(actor: User, engagement_id: int, data: dict) -> Milestone:
    """Add a milestone to the current period (managers)."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    _editable(actor, engagement)
    _check_milestone_fields(
        {"title": data.get("title"), "due_date": data.get("due_date")}, engagement
    )
    change_rules.refuse_direct(engagement, {"milestone": "milestone_added"})
    milestone = Milestone(
        engagement_id=engagement.id,
        period=engagement.current_period,
        **{k: data[k] for k in MILESTONE_FIELDS if k in data},
    )
    db.session.add(milestone)
    db.session.flush()
    audit.record(
        engagement,
        actor,
        "milestone_added",
        data={"milestone_id": milestone.id, "title": milestone.title},
    )
    checklists.sync_bound_items(engagement)
    commit_and_derive()
    return milestone


def _live_milestone_for(actor: User, milestone_id: int) -> tuple[Milestone, Engagement]:
    """A milestone that was not removed (a removed one answers like a missing one)."""
    milestone, engagement = _milestone_for(actor, milestone_id)
    if milestone.is_removed:
        raise NotFound("Milestone not found.")
    return milestone, engagement


def update_milestone(
    actor: User, milestone_id: int, data: dict, expected_version: int | None = None
) -> Milestone:
    """Change a milestone's title, due date or success criteria (managers)."""
    milestone, engagement = _live_milestone_for(actor, milestone_id)
    _editable(actor, engagement)
    check_version(milestone, expected_version, "this milestone", verb="updated")
    _check_milestone_fields(data, engagement)
    contracted = {"due_date": "milestone_due_date", "success_criteria": "milestone_criteria"}
    change_rules.refuse_direct(
        engagement,
        {
            field: kind
            for field, kind in contracted.items()
            if field in data and data[field] != getattr(milestone, field)
        },
    )
    context = {"milestone_id": milestone.id, "title": milestone.title}
    changed = audit.record_changes(
        engagement, actor, "milestone_edited", milestone, data, MILESTONE_FIELDS, **context
    )
    if changed:
        with losing_race_is_conflict():
            db.session.flush()
            checklists.sync_bound_items(engagement)
            commit_and_derive()
    return milestone


def remove_milestone(actor: User, milestone_id: int, expected_version: int | None = None) -> None:
    """Remove a milestone (managers). One with status updates keeps them: it is marked
    removed and left out of every list and judgment; one without is deleted."""
    milestone, engagement = _live_milestone_for(actor, milestone_id)
    _editable(actor, engagement)
    check_version(milestone, expected_version, "this milestone", verb="updated")
    change_rules.refuse_direct(engagement, {"milestone": "milestone_removed"})
    has_history = bool(milestone.updates)
    audit.record(
        engagement,
        actor,
        "milestone_removed",
        data={
            "milestone_id": milestone.id,
            "title": milestone.title,
            "due_date": milestone.due_date.isoformat(),
            "status": milestone.status,
            "kept_with_history": has_history,
        },
    )
    with losing_race_is_conflict():
        if has_history:
            milestone.removed_at = clock.now()
        else:
            db.session.delete(milestone)
        db.session.flush()
        checklists.sync_bound_items(engagement)
        commit_and_derive()


def list_milestones(actor: User, engagement_id: int) -> list[Milestone]:
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    return list(
        db.session.scalars(
            select(Milestone)
            .where(Milestone.engagement_id == engagement.id, Milestone.removed_at.is_(None))
            .options(selectinload(Milestone.updates).joinedload(MilestoneUpdate.author))
            .order_by(Milestone.due_date, Milestone.id)
        )
    )


def history(actor: User, milestone_id: int) -> list[MilestoneUpdate]:
    """The milestone's status updates, newest first, with their authors (one query)."""
    milestone, _ = _milestone_for(actor, milestone_id)
    return list(
        db.session.scalars(
            select(MilestoneUpdate)
            .where(MilestoneUpdate.milestone_id == milestone.id)
            .options(joinedload(MilestoneUpdate.author))
            .order_by(MilestoneUpdate.created_at.desc())
        )
    )


def my_milestones(actor: User, *, limit: int = 200) -> list[Milestone]:
    """Open milestones across the engagements the actor can see, due soonest first."""
    final_last = case((Milestone.status.in_(("met", "missed")), 1), else_=0)
    return list(
        db.session.scalars(
            select(Milestone)
            .join(Engagement, Engagement.id == Milestone.engagement_id)
            .where(visible_clause(actor), Engagement.closed_at.is_(None))
            .where(Milestone.removed_at.is_(None))
            .options(joinedload(Milestone.engagement).joinedload(Engagement.provider))
            .order_by(final_last, Milestone.due_date, Milestone.id)
            .limit(limit)
        )
    )
