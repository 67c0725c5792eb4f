"""Who may see and do what, per object. Every service asks here; nothing else decides.

Rules: admins everything; managers everything on the client side; provider
users only their own organisation's engagements and only provider-side work;
stakeholders read-only on engagements they follow; auditors read-only on every
engagement, cost figures and change details included (ADR 0228). An engagement a
user may not see does not exist for them (404, never 403).
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ColumnElement, bindparam, select, true
from sqlalchemy.orm import Session

from tracker.errors import Forbidden, NotFound
from tracker.models import Engagement, Role, User, engagement_follower


class Action(StrEnum):
    """Things a user can do to an engagement or its parts."""

    VIEW = "view"
    VIEW_COST = "view_cost"  # cost figures and internal notes
    EDIT = "edit"  # engagement fields, team, checklists, milestones definitions
    FIRE = "fire"  # lifecycle transitions (the engine also checks roles per event)
    UPDATE_MILESTONE = "update_milestone"  # status, note, evidence
    COMPLETE_CHECKLIST = "complete_checklist"
    WRITE_ADR = "write_adr"  # propose / edit own drafts
    DECIDE_ADR = "decide_adr"  # accept / reject / deprecate
    LOG_KNOWLEDGE = "log_knowledge"  # shadow sessions, artifacts
    SIGN_OFF = "sign_off"  # shadow sign-off
    OVERRIDE = "override"  # go past a guard with a written reason


_CLIENT_SIDE = {Role.ADMIN, Role.MANAGER}
_SEE_ALL = {*_CLIENT_SIDE, Role.AUDITOR}
_AUDITOR_ACTIONS = {Action.VIEW, Action.VIEW_COST}
_PROVIDER_ACTIONS = {
    Action.VIEW,
    Action.UPDATE_MILESTONE,
    Action.WRITE_ADR,
    Action.LOG_KNOWLEDGE,
}


def visible_clause(user: User) -> ColumnElement[bool]:
    """A WHERE clause restricting Engagement rows to those this user may see."""
    if user.role in _SEE_ALL:
        return true()
    if user.role == Role.PROVIDER:
        return Engagement.provider_id == (user.provider_id or -1)
    # IN over the user's followed ids (the follower index), not a correlated EXISTS:
    # SQLite ran the EXISTS once per engagement, ~3 ms per pass at 10,000.
    return Engagement.id.in_(
        select(engagement_follower.c.engagement_id).where(engagement_follower.c.user_id == user.id)
    )


# `visible_clause` with its user as bound parameters, one clause per rule: a statement
# built once around it keeps its compiled-SQL cache key (issue 29).
_VISIBLE_BY_RULE: dict[str, ColumnElement[bool]] = {
    "all": true(),
    "provider": Engagement.provider_id == bindparam("visible_provider_id"),
    "followed": Engagement.id.in_(
        select(engagement_follower.c.engagement_id).where(
            engagement_follower.c.user_id == bindparam("visible_user_id")
        )
    ),
}


def visibility_rule(user: User) -> tuple[str, dict]:
    """Which rule of `visible_clause` applies to the user and its parameters: the clause
    is `visible_clause_for(rule)` executed with those parameters (the same rows)."""
    if user.role in _SEE_ALL:
        return "all", {}
    if user.role == Role.PROVIDER:
        return "provider", {"visible_provider_id": user.provider_id or -1}
    return "followed", {"visible_user_id": user.id}


def visible_clause_for(rule: str) -> ColumnElement[bool]:
    """The WHERE clause of a `visibility_rule`, with its parameters left to bind."""
    return _VISIBLE_BY_RULE[rule]


def can_see(user: User, engagement: Engagement) -> bool:
    """Whether the engagement exists as far as this user is concerned."""
    if user.role in _SEE_ALL:
        return True
    if user.role == Role.PROVIDER:
        return user.provider_id is not None and engagement.provider_id == user.provider_id
    return any(f.id == user.id for f in engagement.followers)


def can(user: User, action: Action, engagement: Engagement | None = None) -> bool:
    """Whether the user may do the action (on this engagement, if one is given)."""
    if engagement is not None and not can_see(user, engagement):
        return False
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.MANAGER:
        return action != Action.OVERRIDE
    if user.role == Role.PROVIDER:
        return action in _PROVIDER_ACTIONS
    if user.role == Role.AUDITOR:
        return action in _AUDITOR_ACTIONS
    return action == Action.VIEW


def require(user: User, action: Action, engagement: Engagement | None = None) -> None:
    """Raise NotFound if the engagement is invisible, Forbidden if the action is not allowed."""
    if engagement is not None and not can_see(user, engagement):
        raise NotFound("Engagement not found.")
    if not can(user, action, engagement):
        raise Forbidden(f"Your role ({user.role}) may not {action.value.replace('_', ' ')}.")


def get_visible_engagement(
    session: Session, user: User, engagement_id: int, missing: str = "Engagement not found."
) -> Engagement:
    """Load an engagement the user may see, or raise NotFound (same answer either way).

    A part of an engagement (milestone, checklist item, team member) passes its own
    `missing` ("Milestone not found."), so a part of an invisible engagement answers
    exactly like a part that does not exist.
    """
    if user.role in _CLIENT_SIDE or user.role == Role.PROVIDER:
        # Decided from the row itself, so an engagement the session holds already costs
        # no statement: the engagement page's parts each ask for it (issue 29).
        engagement = session.get(Engagement, engagement_id)
        if engagement is None or not can_see(user, engagement):
            raise NotFound(missing)
        return engagement
    engagement = session.scalar(
        select(Engagement).where(Engagement.id == engagement_id, visible_clause(user))
    )
    if engagement is None:
        raise NotFound(missing)
    return engagement
