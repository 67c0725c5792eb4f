"""Shadow assignments: an internal engineer learns an external member's areas, then signs off.

Managers assign shadows (a stakeholder shadow starts following the engagement so
they can see it); the shadow, the external side and managers log sessions;
only the shadow rates their own confidence; only the engagement's owner (or an
admin) signs off, and only after at least one session and a confidence rating.
Changing the areas of a signed-off assignment withdraws the sign-off: it was
given for the old areas.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload, selectinload

from tracker.auth.permissions import Action, get_visible_engagement, require, visible_clause
from tracker.core import clock
from tracker.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tracker.extensions import db
from tracker.models import Engagement, Role, ShadowAssignment, ShadowSession, TeamMember, User
from tracker.services.core import audit
from tracker.services.core.transactions import commit_and_derive

# Joined, not selectin: a selectin load of people skips its query when they are already
# in the session (the signed-in user), so the count would depend on who is who.
_PEOPLE = (
    joinedload(ShadowAssignment.member),
    joinedload(ShadowAssignment.shadow),
    joinedload(ShadowAssignment.signed_off_by),
)


def list_shadows(actor: User, engagement_id: int) -> list[ShadowAssignment]:
    """The engagement's shadow assignments with their people and sessions."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    return engagement_shadows(engagement.id)


# Built once, the engagement a bound parameter: it keeps its cache key (issue 29, ADR 0258).
_OF_ENGAGEMENT = (
    select(ShadowAssignment)
    .where(ShadowAssignment.engagement_id == bindparam("engagement_id"))
    .options(*_PEOPLE, selectinload(ShadowAssignment.sessions))
    .order_by(ShadowAssignment.id)
)


def engagement_shadows(engagement_id: int) -> list[ShadowAssignment]:
    """`list_shadows` without the visibility check, for callers that made it (the page)."""
    return list(db.session.scalars(_OF_ENGAGEMENT, {"engagement_id": engagement_id}))


def get_shadow(actor: User, assignment_id: int) -> ShadowAssignment:
    """One assignment the actor may see, with its people."""
    assignment = db.session.scalar(
        select(ShadowAssignment)
        .join(Engagement, Engagement.id == ShadowAssignment.engagement_id)
        .where(ShadowAssignment.id == assignment_id, visible_clause(actor))
        .options(*_PEOPLE)
    )
    if assignment is None:
        raise NotFound("Shadow assignment not found.")
    return assignment


def assign_shadow(actor: User, engagement_id: int, data: dict) -> ShadowAssignment:
    """Pair an internal user with an external member over some of the member's areas."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    require(actor, Action.EDIT, engagement)
    member = _external_member(engagement, data.get("member_id"))
    shadow = _internal_user(data.get("shadow_id"))
    areas = _areas(member, data.get("areas"))
    _check_dates(data.get("start_date"), data.get("end_date"))
    assignment = ShadowAssignment(
        engagement_id=engagement.id,
        member_id=member.id,
        shadow_id=shadow.id,
        areas=areas,
        start_date=data.get("start_date"),
        end_date=data.get("end_date"),
    )
    db.session.add(assignment)
    if shadow.role == Role.STAKEHOLDER and shadow not in engagement.followers:
        engagement.followers.append(shadow)  # a shadow must be able to see what they learn
    db.session.flush()
    audit.record(engagement, actor, "shadow_assigned", data=_summary(assignment, shadow, member))
    commit_and_derive()
    return assignment


def update_shadow(actor: User, assignment_id: int, data: dict) -> ShadowAssignment:
    """Change areas or dates; new areas withdraw an existing sign-off."""
    assignment = get_shadow(actor, assignment_id)
    require(actor, Action.EDIT, assignment.engagement)
    areas = _areas(assignment.member, data["areas"]) if "areas" in data else assignment.areas
    start = data.get("start_date", assignment.start_date)
    end = data.get("end_date", assignment.end_date)
    _check_dates(start, end)
    if areas != assignment.areas and assignment.is_signed_off:
        assignment.signed_off_at = None
        assignment.signed_off_by_id = None
    assignment.areas, assignment.start_date, assignment.end_date = list(areas), start, end
    audit.record(assignment.engagement, actor, "shadow_updated", data={"shadow": assignment.id})
    commit_and_derive()
    return assignment


def log_session(actor: User, assignment_id: int, data: dict) -> ShadowSession:
    """Record a pairing session (date, minutes, topic, notes)."""
    assignment = get_shadow(actor, assignment_id)
    if actor.id != assignment.shadow_id:  # the shadow logs their own sessions whatever their role
        require(actor, Action.LOG_KNOWLEDGE, assignment.engagement)
    minutes = data.get("duration_minutes")
    if not isinstance(minutes, int) or not 1 <= minutes <= 24 * 60:
        raise ValidationFailed(
            "The session could not be logged.",
            errors={"duration_minutes": ["Between 1 and 1440 minutes."]},
        )
    if not (data.get("topic") or "").strip() or data.get("held_on") is None:
        field = "topic" if data.get("held_on") is not None else "held_on"
        raise ValidationFailed("The session could not be logged.", errors={field: ["Required."]})
    _check_held_on(data["held_on"])
    session = ShadowSession(
        assignment_id=assignment.id,
        held_on=data["held_on"],
        duration_minutes=minutes,
        topic=data["topic"].strip(),
        notes=data.get("notes") or "",
    )
    assignment.sessions.append(session)
    audit.record(assignment.engagement, actor, "shadow_session", data={"shadow": assignment.id})
    commit_and_derive()
    return session


def rate_confidence(actor: User, assignment_id: int, confidence: int) -> ShadowAssignment:
    """The shadow's own rating, 1 (lost) to 5 (could run it alone)."""
    assignment = get_shadow(actor, assignment_id)
    if actor.id != assignment.shadow_id and actor.role != Role.ADMIN:
        raise Forbidden("Only the shadow rates their own confidence.")
    if not isinstance(confidence, int) or not 1 <= confidence <= 5:
        raise ValidationFailed(
            "The rating could not be saved.", errors={"confidence": ["Between 1 and 5."]}
        )
    assignment.confidence = confidence
    audit.record(assignment.engagement, actor, "shadow_confidence", data={"confidence": confidence})
    commit_and_derive()
    return assignment


def sign_off_gaps(assignment: ShadowAssignment) -> list[str]:
    """What still stands between this shadow and a sign-off (empty when it is possible):
    the one judgment behind the refusal and the page's disabled button."""
    missing = []
    if not assignment.sessions:
        missing.append("no session has been logged")
    if assignment.confidence is None:
        missing.append("the shadow has not rated their confidence")
    return missing


def sign_off(actor: User, assignment_id: int) -> ShadowAssignment:
    """The engagement owner confirms the shadow can own these areas."""
    assignment = get_shadow(actor, assignment_id)
    engagement = assignment.engagement
    require(actor, Action.SIGN_OFF, engagement)
    if actor.id != engagement.owner_id and actor.role != Role.ADMIN:
        raise Forbidden("Only the engagement's owner signs off a shadow.")
    missing = sign_off_gaps(assignment)
    if missing:
        raise Conflict(f"Cannot sign off yet: {'; '.join(missing)}.", errors={"shadow": missing})
    if not assignment.is_signed_off:
        assignment.signed_off_at = clock.now()
        assignment.signed_off_by_id = actor.id
        audit.record(engagement, actor, "shadow_signed_off", data={"shadow": assignment.id})
        commit_and_derive()
    return assignment


def shadowable_members(engagement: Engagement) -> list[TeamMember]:
    """The external members a shadow may still learn from: not those who have left."""
    today = clock.now().date()
    return [m for m in engagement.members if m.is_external and not m.has_left(today)]


def _external_member(engagement: Engagement, member_id) -> TeamMember:
    member = db.session.get(TeamMember, member_id) if isinstance(member_id, int) else None
    if member is None or member.engagement_id != engagement.id or not member.is_external:
        raise ValidationFailed(
            "The shadow could not be assigned.",
            errors={"member_id": ["Choose an external member of this engagement."]},
        )
    if member.has_left(clock.now().date()):
        left = f"{member.name} left the engagement on {member.end_date.isoformat()}"
        raise ValidationFailed(
            "The shadow could not be assigned.",
            errors={"member_id": [f"{left}; choose a member who is still on it."]},
        )
    return member


def _internal_user(user_id) -> User:
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.is_active or user.role in (Role.PROVIDER, Role.AUDITOR):
        message = "The shadow must be an active internal user (not a provider or an auditor)."
        raise ValidationFailed("The shadow could not be assigned.", errors={"shadow_id": [message]})
    return user


def _areas(member: TeamMember, areas) -> list[str]:
    cleaned = [a.strip() for a in (areas or []) if isinstance(a, str) and a.strip()]
    unknown = [a for a in cleaned if member.areas and a not in member.areas]
    if not cleaned or unknown:
        known = ", ".join(member.areas) or "none listed"
        problem = (
            f"Unknown area(s): {', '.join(unknown)}." if unknown else "Name at least one area."
        )
        raise ValidationFailed(
            "The shadow could not be assigned.",
            errors={"areas": [f"{problem} {member.name}'s areas: {known}."]},
        )
    return list(dict.fromkeys(cleaned))


def _check_held_on(held_on) -> None:
    """A session is logged after it happened: never in the future (a day's slack for the
    time zones ahead of UTC)."""
    latest = clock.now().date() + timedelta(days=1)
    if held_on > latest:
        raise ValidationFailed(
            "The session could not be logged.",
            errors={"held_on": ["A session cannot be in the future; log it once it was held."]},
        )


def _check_dates(start, end) -> None:
    if start is not None and end is not None and end < start:
        raise ValidationFailed(
            "The dates are inconsistent.", errors={"end_date": ["Must not be before the start."]}
        )


def _summary(assignment: ShadowAssignment, shadow: User, member: TeamMember) -> dict:
    return {
        "shadow": assignment.id,
        "who": shadow.name,
        "of": member.name,
        "areas": assignment.areas,
    }
