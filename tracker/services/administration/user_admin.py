"""What admins do to user accounts: list, invite or create, edit, deactivate, reactivate,
send a set-password link. Every change is audited; nobody removes the last active admin.

Deactivating ends the person's access everywhere in the same transaction: the session
nonce rotates (sessions and remember cookies), API tokens are revoked, the calendar feed
is dropped (its URL answers 404; a new one is drawn on next use) and open set-password
links are revoked. Their history (audit trail, engagements they own) stays.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, select, update
from sqlalchemy.orm import joinedload

from tracker.core import clock
from tracker.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tracker.extensions import db
from tracker.models import ApiToken, AuditEvent, CalendarFeed, ProviderOrganisation, Role, User
from tracker.models.user import new_session_nonce
from tracker.services.administration import password_links
from tracker.services.administration.password_links import INVITE, RESET, target_data
from tracker.services.administration.users import create_user
from tracker.services.core import audit
from tracker.services.core.transactions import commit_and_derive
from tracker.services.signin import throttle

USER_NOT_FOUND = "User not found."
LAST_ADMIN = "This is the last active admin; make someone else an admin first."
EDITABLE = ("name", "role", "provider_id", "timezone")
ADMIN_KINDS = (
    "user_invited",
    "user_created",
    "user_updated",
    "user_deactivated",
    "user_reactivated",
    "password_link_sent",
    "password_set_by_link",
)


def require_admin(actor: User) -> None:
    """Admins only; others get 403, as on every admin resource (webhooks, outbox)."""
    if not actor.is_admin:
        raise Forbidden("Only admins manage users and provider organisations.")


def list_users(actor: User) -> list[User]:
    """Every user with their organisation, by name (one query)."""
    require_admin(actor)
    query = select(User).options(joinedload(User.provider)).order_by(User.name, User.id)
    return list(db.session.scalars(query))


def failed_sign_ins(actor: User, users: list[User]) -> dict[int, throttle.AccountThrottle]:
    """Recent failed sign-ins from unknown browsers per user id (one query), for the Users
    page: who is being guessed at, and until when unknown browsers are refused."""
    require_admin(actor)
    states = throttle.account_states([u.email for u in users])
    return {u.id: states[u.email] for u in users if u.email in states}


def get_user(actor: User, user_id: int) -> User:
    require_admin(actor)
    user = db.session.get(User, user_id, options=[joinedload(User.provider)])
    if user is None:
        raise NotFound(USER_NOT_FOUND)
    return user


def _provider(provider_id, errors: dict) -> ProviderOrganisation | None:
    if provider_id in (None, ""):
        return None
    provider = db.session.get(ProviderOrganisation, int(provider_id))
    if provider is None:
        errors["provider_id"] = ["No provider organisation has this id."]
    elif not provider.is_active:
        errors["provider_id"] = [f"{provider.name} is deactivated; reactivate it first."]
    return provider


def _check_role_and_provider(role, provider_id, errors: dict) -> None:
    if role not in {r.value for r in Role}:
        errors["role"] = [f"Role must be one of {', '.join(r.value for r in Role)}."]
    elif role == Role.PROVIDER and provider_id in (None, ""):
        errors["provider_id"] = ["Provider users belong to a provider organisation."]
    elif role != Role.PROVIDER and provider_id not in (None, ""):
        errors["provider_id"] = ["Only provider users belong to a provider organisation."]


def invite_user(actor: User, data: dict) -> User:
    """Create a user; with no `password`, email them an invitation link. One commit.

    `data`: email, name, role, provider_id (provider users), timezone, password (optional)."""
    require_admin(actor)
    errors: dict[str, list[str]] = {}
    if not (data.get("name") or "").strip():
        errors["name"] = ["Enter the person's name."]
    elif len(data["name"].strip()) > 200:
        errors["name"] = ["At most 200 characters."]
    _check_role_and_provider(data.get("role"), data.get("provider_id"), errors)
    provider = None if "provider_id" in errors else _provider(data.get("provider_id"), errors)
    try:
        user = create_user(
            email=data.get("email") or "",
            name=(data.get("name") or "").strip(),
            role=data.get("role") or "",
            password=data.get("password") or None,
            provider=provider.name if provider is not None and not errors else None,
            timezone=data.get("timezone") or "UTC",
            commit=False,
        )
    except ValidationFailed as error:
        errors = {**_rename_provider_errors(error.errors), **errors}
    if errors:
        db.session.rollback()
        raise ValidationFailed("The user could not be created.", errors=errors)
    db.session.flush()
    kind = "user_created" if user.password_hash else "user_invited"
    audit.record(None, actor, kind, data={**target_data(user), "role": user.role})
    if not user.password_hash:
        password_links.issue(user, actor, INVITE)
    commit_and_derive()
    return user


def _rename_provider_errors(errors: dict) -> dict:
    """create_user names the organisation field `provider`; admins send `provider_id`."""
    renamed = dict(errors)
    if "provider" in renamed:
        renamed["provider_id"] = renamed.pop("provider")
    return renamed


def update_user(actor: User, user_id: int, data: dict) -> User:
    """Change name, role, organisation or time zone; audited as a field diff. One commit."""
    user = get_user(actor, user_id)
    errors: dict[str, list[str]] = {}
    role = data.get("role", user.role)
    provider_id = data.get("provider_id", user.provider_id)
    if role != Role.PROVIDER and "provider_id" not in data:
        provider_id = None  # leaving the provider role leaves the organisation
    _check_role_and_provider(role, provider_id, errors)
    if "provider_id" not in errors and provider_id != user.provider_id:
        _provider(provider_id, errors)
    if "name" in data and not (data["name"] or "").strip():
        errors["name"] = ["Enter the person's name."]
    if "timezone" in data and not _is_zone(data["timezone"]):
        errors["timezone"] = [f"Unknown time zone {data['timezone']!r}."]
    if not errors and user.role == Role.ADMIN and role != Role.ADMIN:
        _keep_an_admin(user, "role")
    if errors:
        raise ValidationFailed("The user was not changed.", errors=errors)
    changes = {"role": role, "provider_id": provider_id}
    if "name" in data:
        changes["name"] = data["name"].strip()
    if "timezone" in data:
        changes["timezone"] = data["timezone"]
    _audit_changes(actor, user, audit.apply_changes(user, changes, EDITABLE))
    commit_and_derive()
    return user


def _audit_changes(actor: User, user: User, changed: dict) -> None:
    """One `user_updated` with the diff; a role change is also its own `role_changed`,
    so an auditor can ask for role changes alone."""
    if not changed:
        return
    db.session.expire(user, ["provider"])
    audit.record(None, actor, "user_updated", data={**target_data(user), "changed": changed})
    if "role" in changed:
        old_role, new_role = changed["role"]
        data = {**target_data(user), "from": old_role, "to": new_role}
        audit.record(None, actor, "role_changed", data=data)


def _is_zone(name) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return False
    return True


def _keep_an_admin(user: User, field: str) -> None:
    """Conflict (409) when `user` is the only active admin. The admin rows are locked
    first (FOR UPDATE on PostgreSQL), so two admins demoting each other cannot both win."""
    others = db.session.scalars(
        select(User.id).where(User.role == Role.ADMIN, User.is_active.is_(True)).with_for_update()
    ).all()
    if not [i for i in others if i != user.id]:
        raise Conflict(LAST_ADMIN, errors={field: [LAST_ADMIN]})


def deactivate_user(actor: User, user_id: int, reason: str | None = None) -> User:
    """Stop the user signing in and end every credential they hold, at once. One commit."""
    user = get_user(actor, user_id)
    if reason is not None and len(reason) > 500:
        raise ValidationFailed("Too long.", errors={"reason": ["At most 500 characters."]})
    if not user.is_active:
        raise Conflict("This user is already deactivated.", errors={"is_active": ["Already."]})
    if user.role == Role.ADMIN:
        _keep_an_admin(user, "is_active")
    now = clock.now()
    user.is_active = False
    user.session_nonce = new_session_nonce()
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    db.session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user.id))
    password_links.revoke_open_links(user, now)
    audit.record(None, actor, "user_deactivated", reason=reason or None, data=target_data(user))
    commit_and_derive()
    return user


def reactivate_user(actor: User, user_id: int) -> User:
    """Let the user sign in again (with their password; old tokens stay revoked)."""
    user = get_user(actor, user_id)
    if user.is_active:
        raise Conflict("This user is already active.", errors={"is_active": ["Already."]})
    user.is_active = True
    audit.record(None, actor, "user_reactivated", data=target_data(user))
    commit_and_derive()
    return user


def send_password_link(actor: User, user_id: int) -> User:
    """Email a set-password link: an invitation again if they never set one, else a reset.
    The password itself stays until the link is used; earlier links stop working."""
    user = get_user(actor, user_id)
    if not user.can_sign_in:
        message = "This user cannot sign in (deactivated); reactivate them first."
        raise Conflict(message, errors={"is_active": [message]})
    purpose = RESET if user.password_hash else INVITE
    password_links.issue(user, actor, purpose)
    audit.record(None, actor, "password_link_sent", data=target_data(user, purpose))
    commit_and_derive()
    return user


def admin_trail(
    actor: User,
    kinds: tuple[str, ...],
    *,
    key: str | None = None,
    target_id: int | None = None,
    limit: int = 50,
) -> list[AuditEvent]:
    """Admin audit entries of these kinds, newest first (one query); with `key`, only those
    whose data names `target_id` under it (e.g. "user_id")."""
    require_admin(actor)
    query = select(AuditEvent).where(AuditEvent.engagement_id.is_(None), AuditEvent.kind.in_(kinds))
    if key is not None:
        query = query.where(AuditEvent.data[key].as_integer() == target_id)
    query = query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(limit)
    return list(db.session.scalars(query.options(joinedload(AuditEvent.actor))))
