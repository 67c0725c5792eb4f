"""What the admin outbox pages read (newest rows, counts, one email) and requeuing failed mail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from tracker.extensions import db
from tracker.models import OutboxEmail
from tracker.services.core.transactions import commit_and_derive

STATUSES = ("pending", "sent", "failed")


def outbox_rows(status: str = "", *, limit: int = 50) -> list[OutboxEmail]:
    """The newest `limit` outbox rows, only those with `status` when one is given."""
    query = select(OutboxEmail).order_by(OutboxEmail.id.desc()).limit(limit)
    if status:
        query = query.where(OutboxEmail.status == status)
    return list(db.session.scalars(query))


def outbox_counts() -> dict[str, int]:
    """How many outbox rows have each status."""
    counts = select(OutboxEmail.status, func.count()).group_by(OutboxEmail.status)
    return dict(db.session.execute(counts).tuples().all())


def outbox_email(email_id: int) -> OutboxEmail | None:
    return db.session.get(OutboxEmail, email_id)


def requeue_failed(
    now: datetime, *, failed_since: datetime | None = None, category: str | None = None
) -> int:
    """Put failed emails back in the queue, due at once, with a fresh attempt count.

    Only rows given up on at or after `failed_since` (rows failed before `failed_at`
    existed count as failed at an unknown time and are included only without it) and
    of `category` when given. Keeps the Message-ID, so a receiver can still tell a
    retried email from a new one. Returns how many were requeued; commits once.
    """
    query = update(OutboxEmail).where(OutboxEmail.status == "failed")
    if failed_since is not None:
        query = query.where(OutboxEmail.failed_at >= failed_since)
    if category:
        query = query.where(OutboxEmail.category == category)
    result = db.session.execute(
        query.values(
            status="pending",
            attempts=0,
            next_attempt_at=now,
            lease_until=None,
            claimed_by=None,
            failed_at=None,
        ),
        execution_options={"synchronize_session": False},
    )
    commit_and_derive()
    return result.rowcount


def outbox_categories() -> list[str]:
    """The categories the outbox holds (for the retry form and to check --category)."""
    query = select(OutboxEmail.category).distinct().order_by(OutboxEmail.category)
    return list(db.session.scalars(query))
