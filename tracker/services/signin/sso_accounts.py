"""Who a verified OpenID identity is in the tracker (docs/adr/0197).

An identity is its issuer and subject (`sso_link`). The first sign-in links by the
provider's verified email, or creates the account (OIDC_JIT); after that only the link
counts. Every sign-in checks what may have changed since: the account and its
organisation are active, the email domain is allowed, the role claim is a known role.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from tracker.core import clock
from tracker.extensions import db
from tracker.models import ProviderOrganisation, Role, SsoLink, User
from tracker.services.core import audit
from tracker.services.core.transactions import commit_and_derive
from tracker.services.signin.sso_config import CLIENT_ROLES, Issuer
from tracker.services.signin.sso_refusal import refuse


@dataclass
class Identity:
    """What a verified ID token (and the userinfo answer) say about the person."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    claims: dict = field(default_factory=dict)


def user_for(issuer: Issuer, identity: Identity) -> User:
    link = db.session.scalar(
        select(SsoLink).where(
            SsoLink.issuer == identity.issuer, SsoLink.subject == identity.subject
        )
    )
    if link is not None:
        user = link.user
        _check_domain(issuer, identity)
        _check_may_sign_in(issuer, identity, user)
        role = _role_for(issuer, identity, required=False)
    else:
        _check_email(issuer, identity)
        role = _role_for(issuer, identity, required=False)
        user = _existing_user(identity)
        if user is None:
            role = _role_for(issuer, identity, required=True)
            user = _create_user(issuer, identity, role)
        else:
            _check_may_sign_in(issuer, identity, user)
        link = _link(user, identity)
    _apply_role(issuer, user, role)
    now = clock.now()
    user.last_login_at = now
    link.last_login_at = now
    audit.record(None, user, "sso_signed_in", data=_audit_data(identity))
    commit_and_derive()
    return user


def _existing_user(identity: Identity) -> User | None:
    return db.session.scalar(select(User).where(User.email == identity.email))


def _audit_data(identity: Identity, **extra) -> dict:
    return {
        "issuer": identity.issuer,
        "subject": identity.subject,
        "email": identity.email,
        **extra,
    }


def _check_email(issuer: Issuer, identity: Identity) -> None:
    """The first sign-in links by email: it must be there, verified and allowed."""
    data = _audit_data(identity)
    if not identity.email:
        raise refuse(
            "email_missing",
            f"{issuer.name} did not say your email address, so no tracker account can be "
            "matched. Ask your administrator to release the email scope.",
            data=data,
        )
    if not identity.email_verified:
        raise refuse(
            "email_unverified",
            f"{issuer.name} does not vouch for {identity.email} (email_verified is not true), "
            "so it cannot be matched to a tracker account.",
            data=data,
        )
    _check_domain(issuer, identity)


def _check_domain(issuer: Issuer, identity: Identity) -> None:
    """OIDC_ALLOWED_DOMAINS, on every sign-in (the provider may have moved the person)."""
    domain = (identity.email or "").rpartition("@")[2]
    if issuer.allowed_domains and domain not in issuer.allowed_domains:
        raise refuse(
            "domain_refused",
            f"{identity.email or 'Your account'} is outside the email domains allowed to "
            f"sign in here ({', '.join(issuer.allowed_domains)}). No account was created.",
            data=_audit_data(identity),
        )


def _role_for(issuer: Issuer, identity: Identity, *, required: bool) -> str | None:
    """The tracker role the role claim gives (client issuer only); None when not given."""
    if issuer.organisation is not None:
        return Role.PROVIDER.value
    if not issuer.role_claim:
        return Role.STAKEHOLDER.value if required else None
    value = identity.claims.get(issuer.role_claim)
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if value is None and not required:
        return None
    if value not in {role.value for role in CLIENT_ROLES}:
        allowed = ", ".join(role.value for role in CLIENT_ROLES)
        said = "gave no role" if value is None else f"gave the role {value}"
        raise refuse(
            "role_unknown",
            f"{issuer.name} {said} in its {issuer.role_claim} claim; this tracker knows "
            f"{allowed}. Nothing was created or changed.",
            data=_audit_data(identity, role_claim=str(value)[:100]),
        )
    return value


def _check_may_sign_in(issuer: Issuer, identity: Identity, user: User) -> None:
    data = _audit_data(identity, user_id=user.id)
    if not user.can_sign_in:
        raise refuse(
            "deactivated",
            "Your tracker account is deactivated, so signing in through the identity "
            "provider is refused too. Ask an administrator.",
            data=data,
        )
    if issuer.organisation is None and user.role == Role.PROVIDER:
        raise refuse(
            "wrong_issuer",
            f"Provider staff do not sign in through {issuer.name}; use your password or "
            "your own organisation's sign-in.",
            data=data,
        )
    if issuer.organisation is not None and (
        user.provider is None or user.provider.name != issuer.organisation
    ):
        raise refuse(
            "wrong_issuer",
            f"{issuer.name} signs in {issuer.organisation}'s people only.",
            data=data,
        )


def _create_user(issuer: Issuer, identity: Identity, role: str) -> User:
    if not issuer.jit:
        raise refuse(
            "not_invited",
            f"There is no tracker account for {identity.email}, and accounts are created "
            "by invitation only. Ask an administrator to invite you.",
            data=_audit_data(identity),
        )
    organisation = _organisation(issuer.organisation) if issuer.organisation else None
    if organisation is not None and not organisation.is_active:
        raise refuse(
            "deactivated",
            f"{organisation.name} is deactivated in the tracker, so its people cannot sign in.",
            data=_audit_data(identity),
        )
    user = User(
        email=identity.email,
        name=(identity.name or identity.email.partition("@")[0])[:200],
        role=role,
        password_hash=None,  # SSO only until someone sends a set-password link
    )
    user.provider = organisation
    db.session.add(user)
    db.session.flush()
    audit.record(None, user, "user_created", data=_audit_data(identity, role=role, via="sso"))
    return user


def _organisation(name: str) -> ProviderOrganisation:
    found = db.session.scalar(select(ProviderOrganisation).where(ProviderOrganisation.name == name))
    if found is None:
        found = ProviderOrganisation(name=name, is_active=True)
        db.session.add(found)
    return found


def _link(user: User, identity: Identity) -> SsoLink:
    taken = db.session.scalar(
        select(SsoLink).where(SsoLink.user_id == user.id, SsoLink.issuer == identity.issuer)
    )
    if taken is not None:  # this account already answers to another subject there
        raise refuse(
            "link_conflict",
            f"The tracker account for {identity.email} is already linked to another "
            "identity at this provider. Ask an administrator.",
            data=_audit_data(identity, user_id=user.id, linked_subject=taken.subject),
        )
    link = SsoLink(
        user_id=user.id,
        issuer=identity.issuer,
        subject=identity.subject,
        email_at_link=identity.email,
    )
    link.user = user
    db.session.add(link)
    audit.record(None, user, "sso_linked", data=_audit_data(identity, user_id=user.id))
    return link


def _apply_role(issuer: Issuer, user: User, role: str | None) -> None:
    """The client's issuer is the source of truth for client-side roles it states."""
    if issuer.organisation is not None or role is None or role == user.role:
        return
    audit.record(
        None,
        user,
        "role_changed",
        data={
            "email": user.email,
            "from": user.role,
            "to": role,
            "via": "sso",
            "issuer": issuer.issuer,
        },
    )
    user.role = role
