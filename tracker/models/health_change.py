"""The history of an engagement's cached health: one row each time the effective value changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tracker.db_setup import UTCDateTime
from tracker.models.base import Model


class HealthChange(Model):
    """From `changed_at` on, the engagement's effective health (and the derived one) was this.

    Written by tracker.services.judgments.health_history only, in the transaction that changed the
    cached value on the engagement row; never updated afterwards (docs/adr/0170).
    """

    __tablename__ = "health_change"
    __table_args__ = (Index("ix_health_change_engagement_changed", "engagement_id", "changed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagement.id", ondelete="CASCADE"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    effective_health: Mapped[str] = mapped_column(String(10))
    health: Mapped[str] = mapped_column(String(10))

    def __repr__(self) -> str:
        return f"<HealthChange {self.engagement_id} {self.effective_health} {self.changed_at}>"
