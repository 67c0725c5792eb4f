"""Authentication: who is asking (session cookie or Bearer token)."""

from collections.abc import Callable

from flask import Flask, current_app, g, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from tracker.auth.tokens import INGEST_PREFIX
from tracker.extensions import db, login_manager
from tracker.models import User

TOKEN_AUTHENTICATOR = "tracker.token_authenticator"
INGEST_AUTHENTICATOR = "tracker.ingest_authenticator"


def init_app(
    app: Flask,
    *,
    token_authenticator: Callable[[str], User | None],
    ingest_authenticator: Callable[[str], object | None] | None = None,
) -> None:
    """Configure Flask-Login for sessions and API tokens.

    `token_authenticator(secret)` answers a Bearer token's user; it is a service (it
    records the token's last use), handed in by create_app because auth sits below services.
    """
    app.extensions[TOKEN_AUTHENTICATOR] = token_authenticator
    app.extensions[INGEST_AUTHENTICATOR] = ingest_authenticator
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user)
    login_manager.request_loader(load_user_from_request)
    login_manager.unauthorized_handler(_unauthorized)


def load_user(session_id: str) -> User | None:
    """Resolve "id:nonce" from the session or remember cookie; a rotated nonce means signed
    out, and a deactivated user (or organisation) is refused on the very next request."""
    user_id, _, nonce = session_id.partition(":")
    if not user_id.isdigit() or not nonce:
        return None
    # The organisation comes in the same query: can_sign_in needs it, and so does the page.
    user = db.session.get(User, int(user_id), options=[joinedload(User.provider)])
    if user is None or not user.can_sign_in or user.session_nonce != nonce:
        return None
    return user


def load_user_from_request(req) -> User | None:
    """Authenticate `Authorization: Bearer <token>` (API clients, scripts)."""
    header = req.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    if secret.strip().startswith(INGEST_PREFIX):
        # A pipeline, not a person: no user is signed in; the few API resources that
        # accept one read g.ingest_token, every other answers 401/403.
        ingest = current_app.extensions.get(INGEST_AUTHENTICATOR)
        g.ingest_token = ingest(secret.strip()) if ingest else None
        return None
    user = current_app.extensions[TOKEN_AUTHENTICATOR](secret.strip())
    if user is not None:
        g.auth_via_token = True
    return user


def _unauthorized():
    from flask import flash, redirect, url_for

    from tracker.errors import Unauthorized, wants_json

    if wants_json():
        raise Unauthorized("Sign in or send a valid Bearer token.")
    flash(login_manager.login_message, "info")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def ingest_token():
    """The ingest token this request authenticated with, or None."""
    return g.get("ingest_token")


def authenticated_by_token() -> bool:
    """True when this request authenticated with an API token (no CSRF needed)."""
    return bool(g.get("auth_via_token"))


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))
