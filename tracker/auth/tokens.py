"""Personal API tokens: created once, stored as a SHA-256, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from tracker.db_setup import utcnow
from tracker.extensions import db
from tracker.models import ApiToken, User

TOKEN_PREFIX = "et_"
# Writing last_used_at on every request would turn reads into writes; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(secret: str) -> str:
    """The stored form of a token (tokens are long random strings, so no KDF is needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def user_for_token(secret: str) -> User | None:
    """The active user owning this active token, touching its last-used time."""
    row = db.session.execute(
        select(ApiToken, User)
        .join(User, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == hash_token(secret), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None or not row.User.is_active:
        return None
    token = row.ApiToken
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        db.session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
        db.session.commit()
        token.last_used_at = now
    return row.User
