"""Change requests (issue 31): the only way a contracted field moves while a period runs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.core import clock
from tracker.db_setup import UTCDateTime
from tracker.models.base import Model, created_at_column
from tracker.models.engagement import Engagement
from tracker.models.user import User

PROPOSED, APPROVED, REJECTED, WITHDRAWN = "proposed", "approved", "rejected", "withdrawn"
CHANGE_REQUEST_STATES = (PROPOSED, APPROVED, REJECTED, WITHDRAWN)


class ChangeRequest(Model):
    """A proposed set of changes to contracted fields, with why, value, cost and schedule.

    `changes` holds [{target, id, field, from, to}], `from` captured when it was raised;
    approving applies them all in one transaction only while every `from` still holds
    (tracker/services/change_requests/service.py). The state moves proposed → approved,
    rejected or withdrawn, exactly once (a conditional UPDATE on `state`).
    """

    __tablename__ = "change_request"
    __table_args__ = (
        Index("ix_change_request_engagement_state", "engagement_id", "state"),
        Index("ix_change_request_state_created", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagement.id", ondelete="CASCADE"))
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    state: Mapped[str] = mapped_column(String(12), default=PROPOSED)
    raised_in_state: Mapped[str] = mapped_column(String(64))
    period: Mapped[int] = mapped_column(default=0)
    changes: Mapped[list] = mapped_column(JSON, default=list)
    why: Mapped[str] = mapped_column(Text)
    value: Mapped[str] = mapped_column(Text, default="")
    cost_delta_monthly: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    cost_delta_total: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    schedule_delta_days: Mapped[int] = mapped_column(default=0)
    evidence_url: Mapped[str | None] = mapped_column(String(1000))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=clock.now, onupdate=clock.now
    )

    engagement: Mapped[Engagement] = relationship()
    raised_by: Mapped[User] = relationship(foreign_keys=[raised_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def is_open(self) -> bool:
        return self.state == PROPOSED

    @property
    def due_date(self):
        """The date reminder rules count from (`after_due`): the day it was raised."""
        return self.created_at.date()

    def __repr__(self) -> str:
        return f"<ChangeRequest {self.id} {self.state} on {self.engagement_id}>"
