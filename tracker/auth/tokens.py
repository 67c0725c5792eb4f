"""Personal API tokens: created once, stored as a SHA-256, revocable (look-ups only; the
last-used write is `tracker.services.administration.users.authenticate_token`)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import contains_eager

from tracker.extensions import db
from tracker.models import ApiToken, ProviderOrganisation, User

TOKEN_PREFIX = "et_"
# A pipeline's ingest token (services/evidence/ingest.py): scoped to one engagement.
INGEST_PREFIX = "eti_"


def hash_token(secret: str) -> str:
    """The stored form of a token (tokens are long random strings, so no KDF is needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class TokenUse(NamedTuple):
    """What authentication needs of a token row: which one, and when it was last used."""

    id: int
    last_used_at: datetime | None


# Built once: a statement object keeps its cache key, so each request's look-up skips
# building the query and walking it for the compiled-SQL cache (issue 29). The token's
# two columns come as plain values; only the owner (and organisation) become objects.
_ACTIVE_TOKEN = (
    select(ApiToken.id, ApiToken.last_used_at, User)
    .join(User, ApiToken.user_id == User.id)
    .outerjoin(ProviderOrganisation, User.provider_id == ProviderOrganisation.id)
    .options(contains_eager(User.provider))
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
)


def active_token(secret: str) -> tuple[TokenUse, User] | None:
    """The active token with this secret and its owner who may sign in, or None (writes
    nothing). A deactivated owner or organisation makes every token answer None at once."""
    row = db.session.execute(_ACTIVE_TOKEN, {"token_hash": hash_token(secret)}).first()
    if row is None or not row.User.can_sign_in:
        return None
    return TokenUse(row.id, row.last_used_at), row.User
