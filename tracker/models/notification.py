"""Everything that must happen later, as rows: timers, reminders, emails, digests."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.db_setup import UTCDateTime
from tracker.models.base import Model, created_at_column
from tracker.models.engagement import Engagement
from tracker.models.user import User


class WorkflowTimer(Model):
    """A transition the scheduler fires at an instant unless the state moved on."""

    __tablename__ = "workflow_timer"
    # At most one *pending* timer per engagement, event and instant. Cancelled and fired
    # rows stay as history and must not block a later period whose end falls on the
    # same instant (extending by 3 months after an early review did; ADR 0101).
    __table_args__ = (
        Index(
            "uq_workflow_timer_pending",
            "engagement_id",
            "event",
            "due_at",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_workflow_timer_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagement.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(60))
    from_state: Mapped[str] = mapped_column(String(40))  # only fires while still in this state
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default="pending")  # fired/cancelled/failed
    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()

    engagement: Mapped[Engagement] = relationship()


class Reminder(Model):
    """A planned nudge by a reminder rule about a milestone, checklist item or period."""

    __tablename__ = "reminder"
    __table_args__ = (Index("ix_reminder_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # rule:subject:id:due instant
    rule: Mapped[str] = mapped_column(String(60))
    engagement_id: Mapped[int] = mapped_column(
        ForeignKey("engagement.id", ondelete="CASCADE"), index=True
    )
    subject_type: Mapped[str] = mapped_column(String(20))  # milestone, checklist, period
    subject_id: Mapped[int]
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default="pending")  # sent/cancelled/skipped
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Why a reminder was skipped (e.g. superseded in a catch-up), for the record.
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at_column()

    engagement: Mapped[Engagement] = relationship()


class OutboxEmail(Model):
    """An email waiting to be delivered, delivered, or given up on."""

    __tablename__ = "outbox_email"
    __table_args__ = (Index("ix_outbox_email_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # idempotency key
    message_id: Mapped[str] = mapped_column(String(255))
    to_address: Mapped[str] = mapped_column(String(254))
    to_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict] = mapped_column(JSON, default=dict)
    category: Mapped[str] = mapped_column(String(40), default="reminder")
    status: Mapped[str] = mapped_column(String(20), default="pending")  # sending/sent/failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    last_reply: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # when given up on
    created_at: Mapped[datetime] = created_at_column()

    to_user: Mapped[User | None] = relationship()


subscription_engagement = Table(
    "subscription_engagement",
    Model.metadata,
    Column("subscription_id", ForeignKey("subscription.id", ondelete="CASCADE"), primary_key=True),
    Column("engagement_id", ForeignKey("engagement.id", ondelete="CASCADE"), primary_key=True),
)


class Subscription(Model):
    """A user's standing order for a digest: which engagements, how often, when."""

    __tablename__ = "subscription"
    __table_args__ = (Index("ix_subscription_active_next", "is_active", "next_due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(20), default="all")  # all | provider | chosen
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider_organisation.id"))
    frequency: Mapped[str] = mapped_column(String(10), default="weekly")  # daily | weekly
    weekday: Mapped[int | None]  # 0 = Monday, for weekly
    send_time: Mapped[time]
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    is_active: Mapped[bool] = mapped_column(default=True)
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = created_at_column()

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    engagements: Mapped[list[Engagement]] = relationship(secondary=subscription_engagement)


class DigestRun(Model):
    """One digest period for one subscription: sent once, or recorded as skipped."""

    __tablename__ = "digest_run"
    __table_args__ = (UniqueConstraint("subscription_id", "period_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscription.id", ondelete="CASCADE"))
    period_key: Mapped[str] = mapped_column(String(20))  # 2026-11-22 or 2026-W47
    status: Mapped[str] = mapped_column(String(20))  # sent | skipped
    since: Mapped[datetime | None] = mapped_column(UTCDateTime())  # changes measured from here
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_email.id"))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = created_at_column()

    subscription: Mapped[Subscription] = relationship()
