"""Provider organisations, as admins manage them: create, rename, deactivate, reactivate.

A deactivated organisation's people cannot sign in (User.can_sign_in, checked by every
credential) and their sessions are ended; its engagements are untouched, so the client
side keeps reading them. Every change is audited.
"""

from __future__ import annotations

from sqlalchemy import func, select

from tracker.errors import Conflict, NotFound, ValidationFailed
from tracker.extensions import db
from tracker.models import Engagement, ProviderOrganisation, User
from tracker.models.user import new_session_nonce
from tracker.services.administration.user_admin import require_admin
from tracker.services.core import audit
from tracker.services.core.transactions import commit_and_derive

PROVIDER_NOT_FOUND = "Provider organisation not found."
PROVIDER_KINDS = (
    "provider_created",
    "provider_updated",
    "provider_deactivated",
    "provider_reactivated",
)


def list_providers(actor: User) -> list[ProviderOrganisation]:
    """Every organisation by name (one query)."""
    require_admin(actor)
    query = select(ProviderOrganisation).order_by(ProviderOrganisation.name)
    return list(db.session.scalars(query))


def counts(provider_ids: list[int]) -> dict[int, dict[str, int]]:
    """{provider id: {"users": n, "engagements": n}} for the list (two GROUP BYs)."""
    result = {pid: {"users": 0, "engagements": 0} for pid in provider_ids}
    if not provider_ids:
        return result
    for column, key in ((User.provider_id, "users"), (Engagement.provider_id, "engagements")):
        query = select(column, func.count()).where(column.in_(provider_ids)).group_by(column)
        for pid, number in db.session.execute(query):
            result[pid][key] = number
    return result


def get_provider(actor: User, provider_id: int) -> ProviderOrganisation:
    require_admin(actor)
    provider = db.session.get(ProviderOrganisation, provider_id)
    if provider is None:
        raise NotFound(PROVIDER_NOT_FOUND)
    return provider


def provider_users(actor: User, provider_id: int) -> list[User]:
    require_admin(actor)
    query = select(User).where(User.provider_id == provider_id).order_by(User.name)
    return list(db.session.scalars(query))


def _clean(data: dict, current: ProviderOrganisation | None) -> dict:
    """The name and website to write; ValidationFailed naming each bad field."""
    errors: dict[str, list[str]] = {}
    clean: dict = {}
    if "name" in data or current is None:
        name = " ".join((data.get("name") or "").split())
        if not name:
            errors["name"] = ["Enter the organisation's name."]
        elif len(name) > 200:
            errors["name"] = ["At most 200 characters."]
        elif _name_taken(name, current):
            errors["name"] = [f"An organisation called {name!r} already exists."]
        clean["name"] = name
    if "website" in data:
        website = (data.get("website") or "").strip() or None
        if website and (len(website) > 300 or not website.startswith(("http://", "https://"))):
            errors["website"] = ["An http:// or https:// address of at most 300 characters."]
        clean["website"] = website
    if errors:
        raise ValidationFailed("The organisation was not saved.", errors=errors)
    return clean


def _name_taken(name: str, current: ProviderOrganisation | None) -> bool:
    query = select(ProviderOrganisation.id).where(
        func.lower(ProviderOrganisation.name) == name.lower()
    )
    if current is not None:
        query = query.where(ProviderOrganisation.id != current.id)
    return db.session.scalar(query) is not None


def _target(provider: ProviderOrganisation) -> dict:
    return {"provider_id": provider.id, "name": provider.name}


def create_provider(actor: User, data: dict) -> ProviderOrganisation:
    """A new organisation (name unique, ignoring case). One commit."""
    require_admin(actor)
    clean = _clean(data, None)
    provider = ProviderOrganisation(name=clean["name"], website=clean.get("website"))
    db.session.add(provider)
    db.session.flush()
    audit.record(None, actor, "provider_created", data=_target(provider))
    commit_and_derive()
    return provider


def update_provider(actor: User, provider_id: int, data: dict) -> ProviderOrganisation:
    """Rename it or change its website; audited as a field diff. One commit."""
    provider = get_provider(actor, provider_id)
    clean = _clean(data, provider)
    changed = audit.apply_changes(provider, clean, ("name", "website"))
    if changed:
        audit.record(
            None, actor, "provider_updated", data={**_target(provider), "changed": changed}
        )
    commit_and_derive()
    return provider


def deactivate_provider(actor: User, provider_id: int, reason: str | None = None):
    """Its people can no longer sign in, and their sessions end now. One commit."""
    provider = get_provider(actor, provider_id)
    if reason is not None and len(reason) > 500:
        raise ValidationFailed("Too long.", errors={"reason": ["At most 500 characters."]})
    if not provider.is_active:
        raise Conflict(
            "This organisation is already deactivated.", errors={"is_active": ["Already."]}
        )
    provider.is_active = False
    for user in provider.users:  # rotating the nonce: reactivation revives no old session
        user.session_nonce = new_session_nonce()
    audit.record(None, actor, "provider_deactivated", reason=reason or None, data=_target(provider))
    commit_and_derive()
    return provider


def reactivate_provider(actor: User, provider_id: int) -> ProviderOrganisation:
    """Its active people may sign in again. One commit."""
    provider = get_provider(actor, provider_id)
    if provider.is_active:
        raise Conflict("This organisation is already active.", errors={"is_active": ["Already."]})
    provider.is_active = True
    audit.record(None, actor, "provider_reactivated", data=_target(provider))
    commit_and_derive()
    return provider
