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
