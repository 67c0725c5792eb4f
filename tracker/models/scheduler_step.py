"""The scheduler's own record of each tick step: when it last ran, and last ran cleanly."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tracker.db_setup import UTCDateTime
from tracker.models.base import Model


class SchedulerStep(Model):
    """One row per step name (timers, reminders, ...), upserted after every tick.

    `last_success_at` moves only when the step raised nothing and no row failed, so
    monitoring can alert on its age (shown on /healthz).
    """

    __tablename__ = "scheduler_step"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_failures: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class DeliveryCircuit(Model):
    """A delivery step's (or one webhook endpoint's) circuit breaker, shared by every
    scheduler process (ADR 0204).

    `name` is "smtp" or "webhook:<endpoint id>". A connect failure or timeout opens it
    until `open_until`, with a delay that grows with `trips` (consecutive trips); the
    first delivery after that is the probe: success deletes the row, failure opens it
    again for longer. `reason` says what happened ("timed out after 3 s").
    """

    __tablename__ = "delivery_circuit"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    trips: Mapped[int] = mapped_column(default=1)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    open_until: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(300))
