"""Single-use, expiring set-password links: invitations and resets (docs/adr/0150).

The URL carries a random secret; the database keeps only its SHA-256, so a copy of
the table opens nothing. Sending a new link revokes the user's earlier open ones;
using a link spends it with a conditional UPDATE, so two tabs racing with the same
link set the password once. A refused link changes nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from tracker.auth import password_policy
from tracker.auth.passwords import hash_password
from tracker.core import clock
from tracker.errors import NotFound, TrackerError, ValidationFailed
from tracker.extensions import db
from tracker.models import PasswordLink, User
from tracker.models.user import new_session_nonce
from tracker.services.core import audit
from tracker.services.core.transactions import commit_and_derive
from tracker.services.messaging.outbox import enqueue

INVITE, RESET = "invite", "reset"
SECRET_PREFIX = "pw_"
LINK_NOT_FOUND = "This link is not valid. Ask your administrator for a new one."


class LinkRefused(TrackerError):
    """The link existed but can no longer be used (spent, expired, replaced, account off)."""

    status = 410
    code = "link_gone"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _lifetime(purpose: str) -> timedelta:
    key = "INVITE_LINK_HOURS" if purpose == INVITE else "RESET_LINK_HOURS"
    return timedelta(hours=current_app.config[key])


def link_url(secret: str) -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}/password/set/{secret}"


def issue(user: User, actor: User | None, purpose: str) -> str:
    """A new link for `user` (earlier open ones revoked) and its email in the outbox;
    returns the secret. No commit: the caller's transaction owns both rows."""
    now = clock.now()
    revoke_open_links(user, now)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    link = PasswordLink(
        user_id=user.id,
        purpose=purpose,
        token_hash=_hash(secret),
        created_by_id=actor.id if actor is not None else None,
        created_at=now,
        expires_at=now + _lifetime(purpose),
    )
    db.session.add(link)
    db.session.flush()
    _enqueue_email(user, actor, link, secret)
    return secret


def revoke_open_links(user: User, now=None) -> None:
    """Make every unused link of this user unusable (no commit)."""
    db.session.execute(
        update(PasswordLink)
        .where(
            PasswordLink.user_id == user.id,
            PasswordLink.used_at.is_(None),
            PasswordLink.revoked_at.is_(None),
        )
        .values(revoked_at=now or clock.now())
    )


def _enqueue_email(user: User, actor: User | None, link: PasswordLink, secret: str) -> None:
    hours = int(_lifetime(link.purpose).total_seconds() // 3600)
    who = actor.name if actor is not None else "An administrator"
    if link.purpose == INVITE:
        subject = "You are invited to Engagement Tracker"
        opening = f"{who} has given you an account on Engagement Tracker ({user.email})."
        action = "Choose your password here"
    else:
        subject = "Set a new Engagement Tracker password"
        opening = f"{who} has sent you a link to set a new password for {user.email}."
        action = "Set your new password here"
    text = (
        f"Hello {user.name},\n\n{opening}\n\n{action} (the link works once, for {hours} "
        f"hours):\n\n{link_url(secret)}\n\nIf you did not expect this email, ignore it; "
        "nothing changes until the link is used.\n"
    )
    enqueue(f"password-link:{link.id}", user, subject, text, category="account")


def open_link(secret: str) -> PasswordLink:
    """The usable link behind a secret; NotFound when unknown, LinkRefused (410) with
    the reason when it was used, replaced, has expired or the account may not sign in."""
    if not secret.startswith(SECRET_PREFIX) or len(secret) > 100:
        raise NotFound(LINK_NOT_FOUND)
    link = db.session.scalar(select(PasswordLink).where(PasswordLink.token_hash == _hash(secret)))
    if link is None:
        raise NotFound(LINK_NOT_FOUND)
    reason = _refusal(link)
    if reason:
        raise LinkRefused(reason, errors={"link": [reason]})
    return link


def _refusal(link: PasswordLink) -> str | None:
    if link.used_at is not None:
        return "This link has already been used. Sign in, or ask your administrator for a new one."
    if link.revoked_at is not None:
        return "A newer link was sent, so this one no longer works. Use the latest email."
    if clock.now() >= link.expires_at:
        return "This link has expired. Ask your administrator to send a new one."
    if not link.user.can_sign_in:
        return "This account is deactivated. Ask your administrator."
    return None


def set_password_with_link(secret: str, password: str) -> User:
    """Spend the link and give its user this password (policy checked first); commit.

    Ends the user's other sessions. A bad password leaves the link usable; a link spent
    by a concurrent request in between raises LinkRefused and changes nothing."""
    link = open_link(secret)
    user = link.user
    refused = password_policy.problems(password or "", email=user.email, name=user.name)
    if refused:
        raise ValidationFailed("The password was not set.", errors={"password": refused})
    now = clock.now()
    spent = db.session.execute(
        update(PasswordLink)
        .where(
            PasswordLink.id == link.id,
            PasswordLink.used_at.is_(None),
            PasswordLink.revoked_at.is_(None),
        )
        .values(used_at=now)
    )
    if spent.rowcount != 1:
        db.session.rollback()
        message = "This link has already been used. Sign in, or ask your administrator."
        raise LinkRefused(message, errors={"link": [message]})
    user.password_hash = hash_password(password)
    user.session_nonce = new_session_nonce()
    audit.record(None, user, "password_set_by_link", data=target_data(user, link.purpose))
    commit_and_derive()
    return user


def target_data(user: User, purpose: str | None = None) -> dict:
    """What an admin audit row says about whom it concerns (read back by `user_history`)."""
    data = {"user_id": user.id, "email": user.email}
    if purpose:
        data["purpose"] = purpose
    return data
