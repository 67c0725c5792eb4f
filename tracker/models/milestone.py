"""Milestones with measurable success criteria and the provider's status updates."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.core import clock
from tracker.db_setup import UTCDateTime
from tracker.models.base import (
    FINAL_MILESTONE_STATUSES,
    MilestoneStatus,
    Model,
    created_at_column,
)
from tracker.models.engagement import Engagement
from tracker.models.user import User


class Milestone(Model):
    """A dated checkpoint (e.g. day 30/60/90 of the trial) judged against criteria."""

    __tablename__ = "milestone"
    __table_args__ = (
        Index("ix_milestone_engagement_due", "engagement_id", "due_date"),
        Index("ix_milestone_status_due", "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagement.id", ondelete="CASCADE"))
    period: Mapped[int] = mapped_column(default=0)  # 0 = trial, 1.. = extensions
    title: Mapped[str] = mapped_column(String(200))
    due_date: Mapped[date]
    success_criteria: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=MilestoneStatus.PLANNED)
    last_update_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The final verdict (met/missed) is a manager's or admin's: who gave it and when.
    verdict_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    verdict_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Removed by a manager: kept with its history, left out of every judgment.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=clock.now, onupdate=clock.now
    )
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    engagement: Mapped[Engagement] = relationship()
    verdict_by: Mapped[User | None] = relationship(foreign_keys=[verdict_by_id])
    updates: Mapped[list[MilestoneUpdate]] = relationship(
        back_populates="milestone",
        cascade="all, delete-orphan",
        order_by="MilestoneUpdate.created_at.desc()",
    )

    @property
    def is_removed(self) -> bool:
        return self.removed_at is not None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_MILESTONE_STATUSES

    def is_overdue(self, today: date) -> bool:
        return not self.is_final and self.due_date < today


class MilestoneUpdate(Model):
    """One entry in a milestone's status history: who said what, with evidence."""

    __tablename__ = "milestone_update"

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(
        ForeignKey("milestone.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    from_status: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[list] = mapped_column(JSON, default=list)  # links
    # Why a verdict goes against the measured evidence (required then; docs/adr/0185).
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()

    milestone: Mapped[Milestone] = relationship(back_populates="updates")
    author: Mapped[User | None] = relationship()
