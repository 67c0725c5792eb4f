"""Ingest tokens: a pipeline's credential scoped to one engagement (docs/adr/0186).

The secret is shown once and stored as a SHA-256 like personal tokens; it starts with
its own prefix, so authentication knows at once it is not a person's token. A token may
read its engagement's metric definitions and record measurements; nothing else.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select, update

from tracker.auth.permissions import Action, get_visible_engagement, require
from tracker.auth.tokens import INGEST_PREFIX, hash_token
from tracker.core import clock
from tracker.errors import Conflict, NotFound, ValidationFailed
from tracker.extensions import db
from tracker.models import Engagement, IngestToken, User
from tracker.services.core import audit
from tracker.services.core.transactions import commit_and_derive

NAME_MAX = 100
LAST_USED_RESOLUTION = timedelta(minutes=1)


def is_ingest_secret(secret: str) -> bool:
    return secret.startswith(INGEST_PREFIX)


def create_token(actor: User, engagement_id: int, name: str) -> tuple[IngestToken, str]:
    """A new token for this engagement (managers and admins); the secret is returned once."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    require(actor, Action.EDIT, engagement)
    if engagement.is_closed:
        raise Conflict("The engagement is closed; it takes no more measurements.")
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX:
        raise ValidationFailed(
            "The token needs a name.", errors={"name": [f"1–{NAME_MAX} characters."]}
        )
    secret = INGEST_PREFIX + secrets.token_urlsafe(32)
    token = IngestToken(
        engagement_id=engagement.id,
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[:12],
        created_by_id=actor.id,
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        engagement, actor, "ingest_token_created", data={"token_id": token.id, "name": name}
    )
    commit_and_derive()
    return token, secret


def list_tokens(actor: User, engagement_id: int) -> list[IngestToken]:
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    require(actor, Action.EDIT, engagement)
    return list(
        db.session.scalars(
            select(IngestToken)
            .where(IngestToken.engagement_id == engagement.id)
            .order_by(IngestToken.id.desc())
        )
    )


def revoke_token(actor: User, token_id: int) -> IngestToken:
    """Revoke a token at once (managers and admins of its engagement)."""
    token = db.session.get(IngestToken, token_id)
    if token is None:
        raise NotFound("Token not found.")
    engagement = get_visible_engagement(db.session, actor, token.engagement_id, "Token not found.")
    require(actor, Action.EDIT, engagement)
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        audit.record(
            engagement,
            actor,
            "ingest_token_revoked",
            data={"token_id": token.id, "name": token.name},
        )
        commit_and_derive()
    return token


def authenticate(secret: str) -> IngestToken | None:
    """The active token with this secret on a live engagement, touching its last use."""
    token = db.session.scalar(
        select(IngestToken)
        .join(Engagement, Engagement.id == IngestToken.engagement_id)
        .where(IngestToken.token_hash == hash_token(secret), IngestToken.revoked_at.is_(None))
    )
    if token is None:
        return None
    now = clock.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        db.session.execute(
            update(IngestToken).where(IngestToken.id == token.id).values(last_used_at=now)
        )
        commit_and_derive()
        token.last_used_at = now
    return token
