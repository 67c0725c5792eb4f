"""The append-only audit trail and the record of workflow definitions seen."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models.base import Model, created_at_column
from tracker.models.user import User


class AuditEvent(Model):
    """Something that happened to an engagement: a transition, an edit, an override."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_engagement_created", "engagement_id", "created_at"),
        Index("ix_audit_event_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int | None] = mapped_column(
        ForeignKey("engagement.id", ondelete="CASCADE")
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    actor_label: Mapped[str] = mapped_column(String(200))  # "Dana Lee" or "scheduler"
    kind: Mapped[str] = mapped_column(String(40))  # transition, update, override, migration …
    event: Mapped[str | None] = mapped_column(String(60))
    from_state: Mapped[str | None] = mapped_column(String(40))
    to_state: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    workflow_version: Mapped[int | None]
    created_at: Mapped[datetime] = created_at_column()

    actor: Mapped[User | None] = relationship()


@event.listens_for(AuditEvent, "before_update")
def _refuse_audit_update(mapper, connection, target):
    """The trail is append-only: an edited audit row would be a lie."""
    raise RuntimeError("audit events are append-only")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_audit_delete(mapper, connection, target):
    raise RuntimeError("audit events are append-only")


class WorkflowDefinitionRecord(Model):
    """The content hash each (name, version) had when first loaded.

    A changed file that keeps its version number is refused, because running
    engagements were started on what that version used to say.
    """

    __tablename__ = "workflow_definition"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
