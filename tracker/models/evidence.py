"""Evidence for judging milestones: success metrics, targets, measurements, ingest tokens.

Measurements are append-only (docs/adr/0184): a correction is a new row that names the
one it supersedes and why; nothing here is ever updated or deleted by the application.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.core import clock
from tracker.db_setup import UTCDateTime
from tracker.models.base import Model, created_at_column
from tracker.models.milestone import Milestone
from tracker.models.user import User


class MetricKind(StrEnum):
    """What a success metric measures."""

    QUALITY = "quality"
    LATENCY = "latency"
    COST = "cost"
    BUSINESS = "business"
    ADOPTION = "adoption"
    OTHER = "other"


class MetricDirection(StrEnum):
    """Which way is better: a higher F1, a lower p95 latency."""

    HIGHER = "higher"
    LOWER = "lower"


class SuccessMetric(Model):
    """A number the engagement is judged by, with its baseline before the work started."""

    __tablename__ = "success_metric"

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(
        ForeignKey("engagement.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str] = mapped_column(String(40), default="")
    direction: Mapped[str] = mapped_column(String(10))
    baseline: Mapped[float | None] = mapped_column(Float)
    baseline_measured_at: Mapped[date | None]
    source_note: Mapped[str] = mapped_column(Text, default="")
    # Removed by a manager: its measurements stay (append-only), it leaves every judgment.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=clock.now, onupdate=clock.now
    )
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_removed(self) -> bool:
        return self.removed_at is not None


class MilestoneTarget(Model):
    """The value a metric must reach by a milestone's due date."""

    __tablename__ = "milestone_target"
    __table_args__ = (UniqueConstraint("milestone_id", "metric_id", name="uq_target_metric"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestone.id", ondelete="CASCADE"))
    metric_id: Mapped[int] = mapped_column(
        ForeignKey("success_metric.id", ondelete="CASCADE"), index=True
    )
    target: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=clock.now, onupdate=clock.now
    )

    milestone: Mapped[Milestone] = relationship()
    metric: Mapped[SuccessMetric] = relationship()


class IngestToken(Model):
    """A pipeline's credential for one engagement: read its metrics, record measurements."""

    __tablename__ = "ingest_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(
        ForeignKey("engagement.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = created_at_column()
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    created_by: Mapped[User | None] = relationship()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Measurement(Model):
    """One measured value of a metric; never changed, only superseded by a correction."""

    __tablename__ = "measurement"
    __table_args__ = (
        UniqueConstraint("engagement_id", "idempotency_key", name="uq_measurement_idempotency"),
        Index("ix_measurement_metric_on", "metric_id", "measured_on", "measured_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagement.id", ondelete="CASCADE"))
    metric_id: Mapped[int] = mapped_column(ForeignKey("success_metric.id", ondelete="CASCADE"))
    value: Mapped[float] = mapped_column(Float)
    measured_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The UTC day of measured_at, so "at or before the due date" is a plain date
    # comparison in SQL on both databases.
    measured_on: Mapped[date]
    note: Mapped[str] = mapped_column(Text, default="")
    evidence_url: Mapped[str | None] = mapped_column(String(1000))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    ingest_token_id: Mapped[int | None] = mapped_column(ForeignKey("ingest_token.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    # SHA-256 of the body as sent with the key: the same key with another body is a 409.
    body_hash: Mapped[str | None] = mapped_column(String(64))
    supersedes_id: Mapped[int | None] = mapped_column(
        ForeignKey("measurement.id", ondelete="CASCADE"), index=True
    )
    correction_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()

    recorded_by: Mapped[User | None] = relationship()
    ingest_token: Mapped[IngestToken | None] = relationship()

    @property
    def recorded_by_label(self) -> str:
        """Who or what recorded it, in words."""
        if self.recorded_by is not None:
            return self.recorded_by.name
        if self.ingest_token is not None:
            return f"ingest token '{self.ingest_token.name}'"
        return "unknown"
