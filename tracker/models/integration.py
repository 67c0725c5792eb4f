"""Integrations with the tools people already use: calendar feeds and outgoing webhooks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.core import clock
from tracker.db_setup import UTCDateTime
from tracker.models.base import Model, created_at_column
from tracker.models.user import User


class CalendarFeed(Model):
    """A user's personal iCalendar feed; its URL secret is derived, only its hash is stored."""

    __tablename__ = "calendar_feed"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    # The secret is HMAC(SECRET_KEY, nonce): the database alone never reveals a feed URL.
    nonce: Mapped[str] = mapped_column(String(64))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(10), default="mine")  # mine | all (managers)
    created_at: Mapped[datetime] = created_at_column()
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class CalendarEntry(Model):
    """What a calendar client last saw of one event: its fingerprint and SEQUENCE number.

    SEQUENCE must never go down (RFC 5545 3.8.7.4), so it is a stored counter bumped
    whenever the event's date, summary or status differ from the stored fingerprint.
    """

    __tablename__ = "calendar_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(200), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    sequence: Mapped[int] = mapped_column(default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


class WebhookEndpoint(Model):
    """An admin-registered receiver of signed event notifications (Standard Webhooks)."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(500), default="")
    events: Mapped[list] = mapped_column(JSON, default=list)
    # Kept in clear: signing needs it. "whsec_" + base64 of 32 random bytes.
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    is_enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=clock.now, onupdate=clock.now
    )

    created_by: Mapped[User | None] = relationship()


class WebhookEvent(Model):
    """Something that happened, in the envelope every endpoint receives (type, timestamp, data)."""

    __tablename__ = "webhook_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(60))
    engagement_id: Mapped[int | None] = mapped_column(
        ForeignKey("engagement.id", ondelete="SET NULL"), index=True
    )
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = created_at_column()


class WebhookDelivery(Model):
    """One event owed to one endpoint: claimed by the scheduler, retried until 2xx or given up."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        Index("ix_webhook_delivery_status_next", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_endpoint_created", "endpoint_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_event.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(60), unique=True)  # the webhook-id header
    status: Mapped[str] = mapped_column(String(20), default="pending")  # delivered | failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    response_status: Mapped[int | None]
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    latency_ms: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()

    endpoint: Mapped[WebhookEndpoint] = relationship()
    event: Mapped[WebhookEvent] = relationship()
