"""Milestones and the provider's status updates (status, note, evidence links)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from urllib.parse import urlsplit

from sqlalchemy import case, select
from sqlalchemy.orm import joinedload, selectinload

from tracker.auth.permissions import Action, get_visible_engagement, require, visible_clause
from tracker.db_setup import utcnow
from tracker.errors import Conflict, NotFound, StaleVersion, ValidationFailed
from tracker.extensions import db
from tracker.models import Engagement, Milestone, MilestoneStatus, MilestoneUpdate, User
from tracker.services import audit
from tracker.services.engagements import commit_or_stale, losing_race_is_conflict

NOTE_MAX = 5000
EVIDENCE_MAX = 10
MILESTONE_FIELDS = ("title", "due_date", "success_criteria")


def _milestone_for(actor: User, milestone_id: int) -> tuple[Milestone, Engagement]:
    milestone = db.session.get(Milestone, milestone_id)
    if milestone is None:
        raise NotFound("Milestone not found.")
    engagement = get_visible_engagement(
        db.session, actor, milestone.engagement_id, missing="Milestone not found."
    )
    return milestone, engagement


def _check_version(milestone: Milestone, expected_version: int | None) -> None:
    if expected_version is not None and milestone.version != expected_version:
        raise StaleVersion(
            "Someone updated this milestone since you loaded it; reload and try again.",
            errors={"version": [f"expected {expected_version}, current {milestone.version}"]},
        )


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


def _after_change(engagement: Engagement) -> None:
    from tracker.services import health

    health.refresh_health([engagement.id])
    for hook in AFTER_MILESTONE_CHANGE_HOOKS:
        hook(engagement)


# Features that plan work from milestones (reminders) register `hook(engagement)`.
AFTER_MILESTONE_CHANGE_HOOKS: list = []


def record_update(
    actor: User,
    milestone_id: int,
    *,
    status: str,
    note: str = "",
    evidence: Iterable[str] = (),
    expected_version: int | None = None,
) -> MilestoneUpdate:
    """The provider's weekly action: a status with a note and evidence, kept as history."""
    milestone, engagement = _milestone_for(actor, milestone_id)
    require(actor, Action.UPDATE_MILESTONE, engagement)
    if engagement.is_closed:
        raise Conflict("The engagement is closed; its milestones are final.")
    _check_version(milestone, expected_version)
    errors = {}
    if status not in {s.value for s in MilestoneStatus}:
        errors["status"] = [f"Choose one of {', '.join(s.value for s in MilestoneStatus)}."]
    if len(note or "") > NOTE_MAX:
        errors["note"] = [f"At most {NOTE_MAX} characters."]
    if errors:
        raise ValidationFailed("The update could not be saved.", errors=errors)
    update = MilestoneUpdate(
        milestone_id=milestone.id,
        author_id=actor.id,
        from_status=milestone.status,
        status=status,
        note=note or "",
        evidence=_clean_evidence(evidence),
    )
    db.session.add(update)
    milestone.status, milestone.last_update_at = status, utcnow()
    audit.record(
        engagement,
        actor,
        "milestone_update",
        reason=note or None,
        data={
            "milestone_id": milestone.id,
            "title": milestone.title,
            "from": update.from_status,
            "to": status,
        },
    )
    with losing_race_is_conflict():
        db.session.flush()
        _after_change(engagement)
        commit_or_stale()
    return update


def _check_milestone_fields(data: dict) -> None:
    errors = {}
    if "title" in data and not (data["title"] or "").strip():
        errors["title"] = ["Give the milestone a title."]
    if "due_date" in data and not isinstance(data["due_date"], date):
        errors["due_date"] = ["Give a date."]
    if errors:
        raise ValidationFailed("The milestone could not be saved.", errors=errors)


def create_milestone(actor: User, engagement_id: int, data: dict) -> Milestone:
    """Add a milestone to the current period (managers)."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    require(actor, Action.EDIT, engagement)
    if engagement.is_closed:
        raise Conflict("The engagement is closed.")
    _check_milestone_fields({"title": data.get("title"), "due_date": data.get("due_date")})
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
    _after_change(engagement)
    commit_or_stale()
    return milestone


def update_milestone(
    actor: User, milestone_id: int, data: dict, expected_version: int | None = None
) -> Milestone:
    """Change a milestone's title, due date or success criteria (managers)."""
    milestone, engagement = _milestone_for(actor, milestone_id)
    require(actor, Action.EDIT, engagement)
    _check_version(milestone, expected_version)
    _check_milestone_fields(data)
    changed = {}
    for field in MILESTONE_FIELDS:
        if field in data and getattr(milestone, field) != data[field]:
            old = getattr(milestone, field)
            changed[field] = [str(old), str(data[field])]
            setattr(milestone, field, data[field])
    if changed:
        audit.record(
            engagement,
            actor,
            "milestone_edited",
            data={"milestone_id": milestone.id, "changed": changed},
        )
        with losing_race_is_conflict():
            db.session.flush()
            _after_change(engagement)
            commit_or_stale()
    return milestone


def list_milestones(actor: User, engagement_id: int) -> list[Milestone]:
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    return list(
        db.session.scalars(
            select(Milestone)
            .where(Milestone.engagement_id == engagement.id)
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
            .where(visible_clause(actor), Engagement.state != "closed")
            .options(joinedload(Milestone.engagement).joinedload(Engagement.provider))
            .order_by(final_last, Milestone.due_date, Milestone.id)
            .limit(limit)
        )
    )
