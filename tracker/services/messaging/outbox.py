"""The outbox: each email is a row written in the transaction that caused it."""

from __future__ import annotations

import hashlib

from flask import current_app
from sqlalchemy import select

from tracker.core import clock
from tracker.extensions import db
from tracker.models import OutboxEmail, User


def message_id_for(key: str) -> str:
    """A deterministic Message-ID: the same key always gives the same id."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    domain = current_app.config.get("MAIL_DOMAIN") or "engagement-tracker.local"
    return f"<{digest}@{domain}>"


def enqueue(
    key: str,
    to: User | str,
    subject: str,
    text_body: str,
    html_body: str | None = None,
    *,
    headers: dict | None = None,
    category: str = "reminder",
) -> OutboxEmail | None:
    """Add an email to the current transaction unless one with this key exists (no commit).

    The UNIQUE constraint on `key` is the real guarantee; this look-up only avoids
    a flush error in the common case. Returns None when the key was already queued.
    """
    if db.session.scalar(select(OutboxEmail.id).where(OutboxEmail.key == key)):
        return None
    address = to.email if isinstance(to, User) else to
    email = OutboxEmail(
        key=key,
        message_id=message_id_for(key),
        to_address=address,
        to_user_id=to.id if isinstance(to, User) else None,
        subject=subject[:300],
        text_body=text_body,
        html_body=html_body,
        headers=headers or {},
        category=category,
        next_attempt_at=clock.now(),  # the app's clock, so tests can move time
    )
    db.session.add(email)
    return email
