"""OpenID Connect single sign-on through Authlib (docs/adr/0197, 0198, 0199).

One sign-in is two requests. `begin` sends the browser to the provider with a fresh
`state`, `nonce` and PKCE verifier kept in this browser's session. `finish` takes the
provider's answer: the state must be one this browser started (and is spent), the
answering issuer must be the one asked, the code is exchanged once over the back
channel, and the ID token is verified against the provider's JWKS (Authlib fetches the
set again when a token names a key it does not know: key rotation), its issuer,
audience, expiry and nonce. Then the identity is matched to a user by its link
(issuer + subject) or, the first time only, by its verified email (ADR 0197).

Every refusal writes one `sso_refused` audit event, creates nothing and raises
SsoRefused with words for the page; a sign-in writes `sso_signed_in` (and `sso_linked`,
`user_created`, `role_changed` when those happen) in the same commit.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import Flask, current_app, session
from sqlalchemy.exc import IntegrityError

from tracker.extensions import db
from tracker.models import User
from tracker.services.signin.sso_accounts import Identity, user_for
from tracker.services.signin.sso_config import (  # noqa: F401  (the pages' names)
    CLIENT_KEY,
    Issuer,
    configured_issuers,
    enabled,
    password_sign_in_allowed,
    sign_in_buttons,
)
from tracker.services.signin.sso_refusal import SsoRefused, refuse

if TYPE_CHECKING:  # Authlib and joserfc are imported where a sign-in uses them: a worker
    # that never serves one does not load them (16 MB each, docs/benchmarks.md)
    from authlib.integrations.flask_client import OAuth
    from joserfc.errors import JoseError

CALLBACK_PATH = "/login/oidc/callback"
PENDING_KEY = "sso_pending"  # [[state, issuer key, next], ...] sign-ins this browser started
MAX_PENDING = 5  # a few tabs at once; older starts are forgotten
ID_TOKEN_KEY = "sso_id_token"  # kept for RP-initiated logout's id_token_hint
ISSUER_KEY = "sso_issuer"
_EXTENSION = "tracker.oidc"
_lock = threading.Lock()


def form_action_origins() -> list[str]:
    """Origins the sign-in and sign-out forms end up on: each configured issuer's, and
    its authorization and end-session endpoints' once discovered (for the page's CSP)."""
    issuers = configured_issuers()
    if not issuers:
        return []
    urls = [issuer.issuer for issuer in issuers.values()]
    oauth = current_app.extensions.get(_EXTENSION)
    for key in issuers if oauth is not None else ():
        metadata = getattr(oauth.create_client(key), "server_metadata", None) or {}
        urls += [metadata.get("authorization_endpoint"), metadata.get("end_session_endpoint")]
    return sorted({_origin(url) for url in urls if url})


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def redirect_uri() -> str:
    return current_app.config["BASE_URL"].rstrip("/") + CALLBACK_PATH


def _registry(app: Flask) -> OAuth:
    """The Authlib client registry of this app, built on first use from its config."""
    from authlib.integrations.flask_client import OAuth

    with _lock:
        oauth = app.extensions.get(_EXTENSION)
        if oauth is None:
            oauth = OAuth(app)
            for issuer in configured_issuers(app.config).values():
                oauth.register(
                    name=issuer.key,
                    client_id=issuer.client_id,
                    client_secret=issuer.client_secret,
                    server_metadata_url=issuer.discovery_url,
                    client_kwargs={
                        "scope": issuer.scopes,
                        "code_challenge_method": "S256",
                        "timeout": app.config.get("OIDC_HTTP_TIMEOUT", 10),
                    },
                )
            app.extensions[_EXTENSION] = oauth
        return oauth


def _client(issuer: Issuer):
    return _registry(current_app._get_current_object()).create_client(issuer.key)


def _issuer_for(key: str | None) -> Issuer:
    issuer = configured_issuers().get(key or "")
    if issuer is None:
        raise refuse(
            "issuer_unconfigured",
            "This tracker is not configured for that identity provider.",
            status=404,
            data={"issuer_key": key},
        )
    return issuer


# -- the two steps ----------------------------------------------------------------------


def begin(key: str, next_url: str | None = None) -> str:
    """The provider's authorization URL for a new sign-in; remembers its state, nonce and
    PKCE verifier (and where to go afterwards) in this browser's session."""
    issuer = _issuer_for(key)
    client = _client(issuer)
    state = secrets.token_urlsafe(24)
    try:
        rv = client.create_authorization_url(redirect_uri(), state=state)
    except (OSError, ValueError, RuntimeError) as error:  # discovery failed
        raise _unreachable(issuer, error) from error
    client.save_authorize_data(redirect_uri=redirect_uri(), **rv)
    # A list, oldest first: the session's JSON sorts dict keys, so a dict loses the order.
    pending = list(session.get(PENDING_KEY) or []) + [[state, issuer.key, next_url]]
    for old_state, old_key, _next in pending[:-MAX_PENDING]:
        _forget(old_key, old_state)  # the session cookie stays small
    session[PENDING_KEY] = pending[-MAX_PENDING:]
    return rv["url"]


def _forget(key: str, state: str) -> None:
    """Drop Authlib's verifier and nonce kept for a sign-in that will not finish."""
    issuer = configured_issuers().get(key)
    if issuer is not None:
        _client(issuer).framework.clear_state_data(session, state)


@dataclass
class SignIn:
    """A finished sign-in: who, where they were going, and what the new session keeps."""

    user: User
    next_url: str | None
    session_data: dict


def finish(args) -> SignIn:
    """Complete a sign-in from the callback's query `args`, or raise SsoRefused after an
    audit event (nothing else written). The caller starts a fresh session with
    `session_data` in it (the ID token, for RP-initiated logout)."""
    issuer, next_url = _pending_issuer(args)
    try:
        _check_response_issuer(issuer, args)
    except SsoRefused:
        _forget(issuer.key, args["state"])
        raise
    token = _exchange_code(issuer)
    identity = _identity(issuer, token)
    try:
        user = user_for(issuer, identity)
    except IntegrityError:  # a second tab linked or created the same person first
        db.session.rollback()
        user = user_for(issuer, identity)
    data = {ID_TOKEN_KEY: token.get("id_token"), ISSUER_KEY: issuer.key}
    return SignIn(user=user, next_url=next_url, session_data=data)


def _pending_issuer(args) -> tuple[Issuer, str | None]:
    state = args.get("state")
    if not state:
        raise refuse(
            "state_missing",
            "The identity provider's answer carried no state, so it cannot be matched to "
            "a sign-in started in this browser. Nothing was changed; start again.",
            status=400,
        )
    pending = list(session.get(PENDING_KEY) or [])
    found = [entry for entry in pending if entry[0] == state]
    key, next_url = found[0][1:] if found else (None, None)
    # Spent either way: a state works once.
    session[PENDING_KEY] = [entry for entry in pending if entry[0] != state]
    if key is None:
        raise refuse(
            "state_mismatch",
            "The identity provider's answer does not belong to a sign-in started in this "
            "browser (its state is unknown or already used). Nothing was changed; start "
            "again from the sign-in page.",
            status=400,
        )
    if args.get("error"):
        _forget(key, state)
        raise refuse(
            "provider_error",
            f"The identity provider did not sign you in: {args.get('error')}"
            + (f" ({args['error_description']})." if args.get("error_description") else "."),
            status=400,
            data={"issuer_key": key, "error": str(args.get("error"))[:100]},
        )
    return _issuer_for(key), next_url


def _check_response_issuer(issuer: Issuer, args) -> None:
    """RFC 9207: when the provider names itself in the answer it must be the one asked."""
    answered = args.get("iss")
    if answered is not None and answered != issuer.issuer:
        raise refuse(
            "issuer_unconfigured",
            f"The answer came from {answered}, an identity provider this sign-in was not "
            f"sent to (it went to {issuer.name}). Nothing was changed.",
            status=400,
            data={"issuer": answered, "expected_issuer": issuer.issuer},
        )


def _exchange_code(issuer: Issuer) -> dict:
    from authlib.integrations.base_client import MismatchingStateError, OAuthError
    from joserfc.errors import JoseError

    client = _client(issuer)
    skew = current_app.config.get("OIDC_CLOCK_SKEW_SECONDS", 60)
    try:
        token = client.authorize_access_token(leeway=skew, claims_options=_claims_options(issuer))
    except MismatchingStateError as error:
        raise refuse(
            "state_mismatch",
            "This browser holds no sign-in for that state. Start again.",
            status=400,
            data={"issuer": issuer.issuer},
        ) from error
    except OAuthError as error:
        raise refuse(
            "code_refused",
            f"{issuer.name} would not exchange the sign-in code ({error.error}): a code "
            "works once and only for the browser that asked for it. Start again.",
            status=400,
            data={"issuer": issuer.issuer, "error": error.error},
        ) from error
    except JoseError as error:
        raise _token_refusal(issuer, error) from error
    except (OSError, ValueError) as error:
        raise _unreachable(issuer, error) from error
    if not token.get("userinfo"):
        raise refuse(
            "id_token_missing",
            f"{issuer.name} answered without an ID token, so nobody is signed in.",
            status=400,
            data={"issuer": issuer.issuer},
        )
    return token


def _claims_options(issuer: Issuer) -> dict:
    """The ID token must name the configured issuer and this client in its audience.

    Authlib checks the audience only through `azp`; a token whose `aud` names another
    client but whose `azp` names us would pass, so both are stated here."""
    return {
        "iss": {"essential": True, "values": [issuer.issuer]},
        "aud": {"essential": True, "values": [issuer.client_id]},
    }


def _token_refusal(issuer: Issuer, error: JoseError) -> SsoRefused:
    """Words for an ID token that did not verify, by what was wrong with it."""
    from joserfc.errors import (
        BadSignatureError,
        ClaimError,
        ExpiredTokenError,
        InvalidClaimError,
        InvalidKeyIdError,
    )

    data = {"issuer": issuer.issuer, "error": str(error)}
    if isinstance(error, ExpiredTokenError):
        message = "The ID token had already expired when it arrived. Start again."
        reason = "id_token_expired"
    elif isinstance(error, InvalidClaimError) and error.claim in ("aud", "azp"):
        message = (
            "The ID token was issued for another application, not this tracker "
            f"(client {issuer.client_id}). Nothing was changed."
        )
        reason = "id_token_audience"
    elif isinstance(error, BadSignatureError | InvalidKeyIdError):
        message = (
            f"The ID token's signature does not verify with the keys {issuer.name} "
            "publishes. Nothing was changed."
        )
        reason = "id_token_signature"
    elif isinstance(error, ClaimError):
        message = f"The ID token's {error.claim} claim is not valid. Nothing was changed."
        reason = "id_token_invalid"
        data["claim"] = error.claim
    else:
        message = "The ID token could not be read. Nothing was changed."
        reason = "id_token_invalid"
    return refuse(reason, message, status=400, data=data)


def _unreachable(issuer: Issuer, error: Exception) -> SsoRefused:
    return refuse(
        "provider_unreachable",
        f"{issuer.name} could not be reached to sign you in. Try again shortly.",
        status=502,
        data={"issuer": issuer.issuer, "error": str(error)[:300]},
    )


def _identity(issuer: Issuer, token: dict) -> Identity:
    """The person the verified ID token names; claims it lacks come from userinfo (same
    subject required), as providers keep the ID token small in the code flow."""
    claims = dict(token["userinfo"])
    wanted = ["email", "email_verified", "name"] + ([issuer.role_claim] * bool(issuer.role_claim))
    if any(name not in claims for name in wanted):
        claims = _merge_userinfo(issuer, claims)
    email = claims.get("email")
    return Identity(
        issuer=issuer.issuer,
        subject=str(claims["sub"]),
        email=email.strip().lower() if isinstance(email, str) and email.strip() else None,
        email_verified=claims.get("email_verified") is True,
        name=claims.get("name") if isinstance(claims.get("name"), str) else None,
        claims=claims,
    )


def _merge_userinfo(issuer: Issuer, claims: dict) -> dict:
    from authlib.integrations.base_client import OAuthError

    client = _client(issuer)
    if not client.load_server_metadata().get("userinfo_endpoint"):
        return claims
    try:
        extra = dict(client.userinfo())
    except (OSError, ValueError, OAuthError) as error:
        raise _unreachable(issuer, error) from error
    if str(extra.get("sub")) != str(claims["sub"]):
        raise refuse(
            "userinfo_subject",
            "The provider's user information names someone other than the ID token.",
            status=400,
            data={"issuer": issuer.issuer},
        )
    return {**extra, **claims}


# -- who it is ---------------------------------------------------------------------------


# -- signing out -------------------------------------------------------------------------


def logout_url() -> str | None:
    """Where to send the browser after the tracker session ended: the provider's
    end_session_endpoint (RP-initiated logout) when the session came through SSO and the
    provider offers one; None otherwise. Read before the session is cleared."""
    key, id_token = session.get(ISSUER_KEY), session.get(ID_TOKEN_KEY)
    issuer = configured_issuers().get(key or "")
    if issuer is None or not id_token:
        return None
    client = _client(issuer)
    try:
        if not client.load_server_metadata().get("end_session_endpoint"):
            return None
    except (OSError, ValueError):
        return None
    back = current_app.config["BASE_URL"].rstrip("/") + "/login"
    return client.create_logout_url(post_logout_redirect_uri=back, id_token_hint=id_token)["url"]
