"""Checklist items: prerequisites, placement/compliance and knowledge-transfer work."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.core import clock
from tracker.db_setup import UTCDateTime
from tracker.models.base import ChecklistStatus, Model, created_at_column
from tracker.models.engagement import Engagement
from tracker.models.user import User

# The key of the item the scheduler opens after N months on one engagement (services/
# portfolio/hiring.py). Items with a key here are the client's own business: providers
# never see them, nor the audit entries about them.
HIRING_EVALUATION_KEY = "evaluate_hiring"
CLIENT_ONLY_KEYS = (HIRING_EVALUATION_KEY,)


class ChecklistItem(Model):
    """One thing somebody must get done before (or while) the engagement moves on."""

    __tablename__ = "checklist_item"
    __table_args__ = (
        Index("ix_checklist_item_engagement_kind", "engagement_id", "kind"),
        Index("ix_checklist_item_status_due", "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagement.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    key: Mapped[str | None] = mapped_column(String(60))  # template slug, None if added by hand
    # The engagement fact the workflow definition binds this item to (None: ticked by hand).
    # A bound item is done exactly while its fact holds
    # (services.delivery.checklists.sync_bound_items).
    fact: Mapped[str | None] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    due_date: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(20), default=ChecklistStatus.OPEN)
    note: Mapped[str] = mapped_column(Text, default="")
    # A link to what shows the item is done (a ticket, a document); "" when none.
    evidence: Mapped[str] = mapped_column(String(500), default="", server_default="")
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=clock.now, onupdate=clock.now
    )
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    engagement: Mapped[Engagement] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])

    @property
    def is_client_only(self) -> bool:
        return self.key in CLIENT_ONLY_KEYS

    @property
    def is_bound(self) -> bool:
        return self.fact is not None

    @property
    def is_from_data(self) -> bool:
        """Completed because its fact holds, not by a person."""
        return self.is_bound and self.is_complete and self.completed_by_id is None

    @property
    def is_complete(self) -> bool:
        return self.status in (ChecklistStatus.DONE, ChecklistStatus.NOT_APPLICABLE)

    def is_overdue(self, today: date) -> bool:
        return not self.is_complete and self.due_date is not None and self.due_date < today
