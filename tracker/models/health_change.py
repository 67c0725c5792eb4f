"""The history of an engagement's cached health: one row each time the effective value changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tracker.db_setup import UTCDateTime
from tracker.models.base import Model


class HealthChange(Model):
    """From `changed_at` until `valid_until`, the engagement's effective health (and the
    derived one) was this.

    Written by tracker.services.judgments.health_history only, in the transaction that changed the
    cached value on the engagement row (docs/adr/0170). `valid_until` is the row's end: the
    engagement's next row's instant, or its closing, whichever is first (never before
    `changed_at`); NULL while the row is in force. It is the only column ever updated, by the
    same writer, when the next row is written or the engagement closes (docs/adr/0234), so
    "health at instant T" is a range count on an index: rows with changed_at < T, less rows
    with valid_until < T.
    """

    __tablename__ = "health_change"
    __table_args__ = (
        Index("ix_health_change_engagement_changed", "engagement_id", "changed_at"),
        # the portfolio's range counts (services/portfolio/figures.py): rows that began, and
        # rows that ended, before each weekly point, per health, read from the index alone
        Index("ix_health_change_began", "effective_health", "changed_at", "engagement_id"),
        Index("ix_health_change_ended", "effective_health", "valid_until", "engagement_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagement.id", ondelete="CASCADE"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    effective_health: Mapped[str] = mapped_column(String(10))
    health: Mapped[str] = mapped_column(String(10))
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    def __repr__(self) -> str:
        return f"<HealthChange {self.engagement_id} {self.effective_health} {self.changed_at}>"
