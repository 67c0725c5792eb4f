"""Which OpenID providers are configured, and whom each may sign in (docs/adr/0199).

The client organisation's issuer comes from OIDC_*; each provider organisation's from
OIDC_PROVIDER_ISSUERS. Read from the app's config on use: nothing here talks to a provider.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app

from tracker.models import Role, User

CLIENT_KEY = "client"  # the client organisation's own issuer (OIDC_ISSUER)
# Roles the client's issuer may give; provider staff belong to an organisation (ADR 0199).
CLIENT_ROLES = (Role.ADMIN, Role.MANAGER, Role.STAKEHOLDER, Role.AUDITOR)


@dataclass(frozen=True)
class Issuer:
    """One configured OpenID provider and what its sign-ins may become."""

    key: str
    issuer: str
    client_id: str
    client_secret: str
    name: str
    scopes: str
    allowed_domains: tuple[str, ...] = ()
    role_claim: str = ""
    jit: bool = False
    organisation: str | None = None  # None: the client's issuer; else provider staff's

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


def _domains(text: str) -> tuple[str, ...]:
    return tuple(d.strip().lower().lstrip("@") for d in (text or "").split(",") if d.strip())


def _name_from(issuer: str) -> str:
    return urlsplit(issuer).hostname or issuer


def configured_issuers(config=None) -> dict[str, Issuer]:
    """Every issuer the configuration names, by key ("client", "org1", ...)."""
    config = config or current_app.config
    issuers: dict[str, Issuer] = {}
    if config.get("OIDC_ISSUER"):
        issuer = config["OIDC_ISSUER"]
        issuers[CLIENT_KEY] = Issuer(
            key=CLIENT_KEY,
            issuer=issuer,
            client_id=config.get("OIDC_CLIENT_ID", ""),
            client_secret=config.get("OIDC_CLIENT_SECRET", ""),
            name=config.get("OIDC_PROVIDER_NAME") or _name_from(issuer),
            scopes=config.get("OIDC_SCOPES") or "openid email profile",
            allowed_domains=_domains(config.get("OIDC_ALLOWED_DOMAINS", "")),
            role_claim=config.get("OIDC_ROLE_CLAIM", ""),
            jit=bool(config.get("OIDC_JIT")),
        )
    for number, entry in enumerate(_organisation_entries(config), start=1):
        issuers[f"org{number}"] = Issuer(
            key=f"org{number}",
            issuer=entry["issuer"],
            client_id=entry["client_id"],
            client_secret=entry.get("client_secret", ""),
            name=entry.get("name") or entry["organisation"],
            scopes=entry.get("scopes") or "openid email profile",
            allowed_domains=_domains(entry.get("allowed_domains", "")),
            jit=bool(entry.get("jit", config.get("OIDC_JIT"))),
            organisation=entry["organisation"],
        )
    return issuers


def _organisation_entries(config) -> list[dict]:
    """OIDC_PROVIDER_ISSUERS: a JSON list; a malformed one stops the app at first use."""
    raw = config.get("OIDC_PROVIDER_ISSUERS") or ""
    if not raw.strip():
        return []
    entries = json.loads(raw) if isinstance(raw, str) else raw
    required = ("issuer", "client_id", "organisation")
    for entry in entries:
        missing = [key for key in required if not entry.get(key)]
        if missing:
            raise RuntimeError(f"OIDC_PROVIDER_ISSUERS entry lacks {', '.join(missing)}")
    return entries


def enabled() -> bool:
    return bool(current_app.config.get("OIDC_ISSUER"))


def sign_in_buttons() -> list[Issuer]:
    """The "Sign in with ..." buttons the sign-in page shows, the client's issuer first."""
    return list(configured_issuers().values())


def password_sign_in_allowed(user: User) -> bool:
    """False for admins and managers when PASSWORD_SIGNIN_CLIENT_SIDE is off and the
    client's issuer is configured (they sign in through it); provider staff keep theirs."""
    if current_app.config.get("PASSWORD_SIGNIN_CLIENT_SIDE", True) or not enabled():
        return True
    return not user.is_client_side
