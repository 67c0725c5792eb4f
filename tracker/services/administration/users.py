"""Users, provider organisations and API tokens."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, select, update

from tracker.auth import password_policy
from tracker.auth.passwords import hash_password, verify_password
from tracker.auth.tokens import active_token, hash_token, new_token_secret
from tracker.core import clock
from tracker.errors import NotFound, ValidationFailed
from tracker.extensions import db
from tracker.models import ApiToken, ProviderOrganisation, Role, User
from tracker.models.user import new_session_nonce
from tracker.services.core import audit
from tracker.services.core.people import people_page, person_named
from tracker.services.core.transactions import commit_and_derive
from tracker.services.signin import device as devices
from tracker.services.signin import throttle

# Writing last_used_at on every request would turn reads into writes; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def authenticate_token(secret: str) -> User | None:
    """The active owner of this active API token, touching its last-used time (Bearer auth)."""
    found = active_token(secret)
    if found is None:
        return None
    token, user = found
    now = clock.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        db.session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
        commit_and_derive(keep=(user,))  # the caller, as read: not selected again
    return user


def end_sessions(user: User) -> None:
    """Invalidate every session and remember-cookie of this user."""
    user.session_nonce = new_session_nonce()
    commit_and_derive()


def change_password(
    user: User,
    current: str,
    new: str,
    address: str | None = None,
    device_cookie: str | None = None,
) -> None:
    """The signed-in user's own change: the current password first (throttled like a
    sign-in: on the browser's device cookie when it has one for this account), then the
    policy; other sessions end. Raises ValidationFailed naming the field."""
    known = devices.device_for(device_cookie, user.id)
    nonce = known.nonce if known else None
    throttle.check(user.email, address, device=nonce)
    if not verify_password(user.password_hash, current or ""):
        if wait := throttle.record_failure(user.email, address, user, device=nonce):
            raise throttle.too_many(wait)
        raise ValidationFailed(
            "The password was not changed.",
            errors={"current_password": ["This is not your current password."]},
        )
    set_password(user, new)


def set_password(user: User, new: str) -> None:
    """Give the user a new password under the policy and end their other sessions; commit."""
    refused = password_policy.problems(new or "", email=user.email, name=user.name)
    if refused:
        raise ValidationFailed("The password was not changed.", errors={"password": refused})
    user.password_hash = hash_password(new)
    user.session_nonce = new_session_nonce()
    commit_and_derive()


def get_or_create_provider(name: str, recorded_as: str | None = None) -> ProviderOrganisation:
    """The provider organisation with this name, created if new (no commit); with
    `recorded_as`, a new one gets its "provider_created" audit row as `create_user`'s."""
    provider = db.session.scalar(
        select(ProviderOrganisation).where(ProviderOrganisation.name == name)
    )
    if provider is None:
        provider = ProviderOrganisation(name=name)
        db.session.add(provider)
        db.session.flush()
        if recorded_as is not None:
            data = {"provider_id": provider.id, "name": provider.name}
            audit.record(None, None, "provider_created", data=data, label=recorded_as)
    return provider


def _validate_user_fields(email: str, role: str, provider: str | None, timezone: str) -> dict:
    errors: dict[str, list[str]] = {}
    if "@" not in email or len(email) > 254:
        errors["email"] = ["Enter a valid email address."]
    if role not in {r.value for r in Role}:
        errors["role"] = [f"Role must be one of {', '.join(r.value for r in Role)}."]
    if role == Role.PROVIDER and not provider:
        errors["provider"] = ["Provider users belong to a provider organisation."]
    if role != Role.PROVIDER and provider:
        errors["provider"] = ["Only provider users belong to a provider organisation."]
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = [f"Unknown time zone {timezone!r}."]
    return errors


def create_user(
    *,
    email: str,
    name: str,
    role: str,
    password: str | None,
    provider: str | None = None,
    timezone: str = "UTC",
    commit: bool = True,
    recorded_as: str | None = None,
) -> User:
    """Create a user; raises ValidationFailed naming each bad field.

    With `recorded_as` (who did it where no signed-in person did: the command line, the
    demo seeder), the admin audit trail gets its "user_created" row in the same
    transaction, so /admin/users lists the account among its changes. The invite form
    records its own row, with the admin as the actor."""
    email = email.strip().lower()
    errors = _validate_user_fields(email, role, provider, timezone)
    if db.session.scalar(select(User.id).where(User.email == email)):
        errors.setdefault("email", []).append("A user with this email already exists.")
    if password is not None and (
        refused := password_policy.problems(password, email=email, name=name)
    ):
        errors["password"] = refused
    if errors:
        raise ValidationFailed("The user could not be created.", errors=errors)
    user = User(email=email, name=name.strip(), role=role, timezone=timezone)
    user.password_hash = hash_password(password) if password else None
    if provider:
        user.provider = get_or_create_provider(provider, recorded_as)
    db.session.add(user)
    if recorded_as is not None:
        db.session.flush()
        data = {"user_id": user.id, "email": user.email, "role": user.role}
        audit.record(None, None, "user_created", data=data, label=recorded_as)
    if commit:
        commit_and_derive()
    return user


def get_user_by_email(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"No user with email {email!r}.")
    return user


def create_token(user: User, name: str = "cli") -> tuple[ApiToken, str]:
    """Create a personal API token; the secret is returned once and never stored."""
    if not name or len(name) > 100:
        raise ValidationFailed("Bad token name.", errors={"name": ["1–100 characters."]})
    secret = new_token_secret()
    token = ApiToken(user_id=user.id, name=name, token_hash=hash_token(secret), prefix=secret[:10])
    db.session.add(token)
    db.session.flush()
    audit.record(None, user, "token_created", data=_token_data(token))
    commit_and_derive()
    return token, secret


def list_tokens(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        )
    )


def revoke_token(user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens (admins may revoke anyone's)."""
    token = db.session.get(ApiToken, token_id)
    if token is None or (token.user_id != user.id and not user.is_admin):
        raise NotFound("Token not found.")
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        audit.record(None, user, "token_revoked", data=_token_data(token))
        commit_and_derive()
    return token


def _token_data(token: ApiToken) -> dict:
    """What the audit trail says about a token: whose, which (never the secret)."""
    return {
        "user_id": token.user_id,
        "token_id": token.id,
        "name": token.name,
        "prefix": token.prefix,
    }


def internal_users() -> list[User]:
    """Active client-side people who do the work, by name: who may shadow or do a drill.
    Not providers, and not auditors (they read and change nothing, ADR 0228)."""
    query = select(User).where(
        User.role.not_in((Role.PROVIDER, Role.AUDITOR)), User.is_active.is_(True)
    )
    return list(db.session.scalars(query.order_by(User.name)))


def _internal_clause():
    """Who `internal_users` lists, as WHERE conditions."""
    return User.role.not_in((Role.PROVIDER, Role.AUDITOR)), User.is_active.is_(True)


def person_label(user: User | None) -> str:
    """How a person reads in a person picker, and what it submits: "Name <email>", the
    address making it unique whatever the number of namesakes."""
    return f"{user.name} <{user.email}>" if user is not None else ""


def internal_person_choices(text: str, page: int) -> tuple[list[str], bool]:
    """A page of internal people (as `internal_users`) whose name or address contains the
    text, as person labels by name, and whether there are more (issue 29: forms offer a
    picker filled from this instead of listing every user)."""
    return people_page(select(User.name, User.email).where(*_internal_clause()), text, page)


def internal_person_id(text: str) -> int | None:
    """The internal person a picker's text names: a person label ("Name <email>"), an
    address, or an id (what a script posts). None when it names nobody who may be chosen,
    so the caller answers with a form message and changes nothing."""
    return person_named(text, and_(*_internal_clause()), id_checked_later=False)
