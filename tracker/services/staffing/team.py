"""The engagement's team: adding, changing and removing members (audited)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tracker.auth.permissions import Action, get_visible_engagement, require
from tracker.errors import NotFound, ValidationFailed
from tracker.extensions import db
from tracker.models import Engagement, MemberRole, TeamMember, User
from tracker.services.change_requests import rules as change_rules
from tracker.services.core import audit
from tracker.services.core.transactions import commit_and_derive
from tracker.services.delivery import checklists

MEMBER_FIELDS = (
    "user_id",
    "name",
    "email",
    "role",
    "is_external",
    "allocation",
    "areas",
    "start_date",
    "end_date",
)


def list_members(actor: User, engagement_id: int) -> list[TeamMember]:
    """The team of an engagement the user may see, in the order they joined."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    return list(
        db.session.scalars(
            select(TeamMember)
            .where(TeamMember.engagement_id == engagement.id)
            .order_by(TeamMember.id)
        )
    )


def _member_for_edit(actor: User, member_id: int) -> tuple[Engagement, TeamMember]:
    member = db.session.get(TeamMember, member_id)
    if member is None:
        raise NotFound("Team member not found.")
    engagement = get_visible_engagement(
        db.session, actor, member.engagement_id, missing="Team member not found."
    )
    require(actor, Action.EDIT, engagement)
    return engagement, member


ROLES = tuple(role.value for role in MemberRole)


def _check(values: dict, *, new: bool = False) -> None:
    """A member's name and role (required when adding, never blanked), then the rules that
    span fields or need the database: the linked user, the date order. Every caller (API,
    form, script) gets the same field errors instead of a database refusal."""
    errors: dict[str, list[str]] = {}
    for field in ("name", "role"):
        if (new or field in values) and not str(values.get(field) or "").strip():
            errors[field] = ["Required."]
    role = values.get("role")
    if "role" not in errors and "role" in values and role not in ROLES:
        errors["role"] = [f"Choose one of: {', '.join(ROLES)}."]
    user_id = values.get("user_id")
    if user_id is not None and db.session.get(User, user_id) is None:
        errors["user_id"] = ["No such user."]
    start, end = values.get("start_date"), values.get("end_date")
    if isinstance(start, date) and isinstance(end, date) and end < start:
        errors["end_date"] = ["The end date is before the start date."]
    if errors:
        raise ValidationFailed("The team member could not be saved.", errors=errors)


def add_member(actor: User, engagement_id: int, data: dict) -> TeamMember:
    """Put someone on the engagement's team."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    require(actor, Action.EDIT, engagement)
    values = {k: v for k, v in data.items() if k in MEMBER_FIELDS}
    _check(values, new=True)
    member = TeamMember(engagement_id=engagement.id, **values)
    db.session.add(member)
    db.session.flush()
    audit.record(
        engagement, actor, "team_member_added", data={"member_id": member.id, "name": member.name}
    )
    checklists.sync_bound_items(engagement)
    commit_and_derive()
    return member


def update_member(actor: User, member_id: int, data: dict) -> TeamMember:
    """Change a member's role, allocation, areas or dates."""
    engagement, member = _member_for_edit(actor, member_id)
    values = {k: v for k, v in data.items() if k in MEMBER_FIELDS}
    current = {field: getattr(member, field) for field in ("user_id", "start_date", "end_date")}
    _check({**current, **values})
    changed = {f: v for f, v in values.items() if getattr(member, f) != v}
    contracted = {"allocation": "member_allocation", "end_date": "member_end_date"}
    change_rules.refuse_direct(
        engagement, {f: kind for f, kind in contracted.items() if f in changed}
    )
    for field, value in changed.items():
        setattr(member, field, value)
    if changed:
        audit.record(
            engagement,
            actor,
            "team_member_updated",
            data={"member_id": member.id, "name": member.name, "fields": sorted(changed)},
        )
        checklists.sync_bound_items(engagement)
        commit_and_derive()
    return member


def remove_member(actor: User, member_id: int) -> None:
    """Take someone off the team (the audit trail keeps who it was)."""
    engagement, member = _member_for_edit(actor, member_id)
    audit.record(
        engagement, actor, "team_member_removed", data={"member_id": member.id, "name": member.name}
    )
    db.session.delete(member)
    checklists.sync_bound_items(engagement)
    commit_and_derive()
