"""What the admin outbox pages read: the newest rows, counts per status, one email."""

from __future__ import annotations

from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import OutboxEmail

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
