"""Digest periods: when a subscription is due, in its own time zone, and the period's key.

A daily period is keyed by the subscriber's local date (2026-03-29) and a weekly
one by the ISO week of the local send date (2026-W14). Keys come from local
dates, never from UTC offsets, so a daylight-saving change can neither add nor
drop a period: each local day (or week) has exactly one key and one send instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# A subscriber back after a long outage gets one digest; this bounds the skipped rows.
MAX_SKIPPED_PERIODS = 60


@dataclass(frozen=True)
class Schedule:
    """The timing part of a subscription (plain data, so this module needs no database)."""

    frequency: str  # daily | weekly
    send_time: time
    timezone: str
    weekday: int | None = None  # 0 = Monday; weekly only

    @property
    def step(self) -> timedelta:
        return timedelta(days=7 if self.frequency == "weekly" else 1)


@dataclass(frozen=True)
class Period:
    """One digest period: its key and the UTC instant it becomes due."""

    key: str
    local_date: date
    send_at: datetime


def schedule_of(subscription) -> Schedule:
    """The Schedule of a Subscription row (or anything with the same attributes)."""
    return Schedule(
        frequency=subscription.frequency,
        send_time=subscription.send_time,
        timezone=subscription.timezone,
        weekday=subscription.weekday,
    )


def period_for(schedule: Schedule, local_date: date) -> Period:
    """The period whose send date is this local date.

    A send time inside the spring-forward gap resolves (fold=0) to the instant
    just after the gap; an ambiguous autumn time resolves to its first occurrence.
    Either way each local date has exactly one send instant.
    """
    zone = ZoneInfo(schedule.timezone)
    send_at = datetime.combine(local_date, schedule.send_time, tzinfo=zone).astimezone(UTC)
    if schedule.frequency == "weekly":
        year, week, _ = local_date.isocalendar()
        key = f"{year}-W{week:02d}"
    else:
        key = local_date.isoformat()
    return Period(key=key, local_date=local_date, send_at=send_at)


def latest_period(schedule: Schedule, now: datetime) -> Period:
    """The most recent period that is due at `now` (its send instant is not after now)."""
    local_today = now.astimezone(ZoneInfo(schedule.timezone)).date()
    if schedule.frequency == "weekly":
        local_today -= timedelta(days=(local_today.weekday() - (schedule.weekday or 0)) % 7)
    period = period_for(schedule, local_today)
    if period.send_at > now:
        period = period_for(schedule, local_today - schedule.step)
    return period


def next_send_at(schedule: Schedule, now: datetime) -> datetime:
    """The first send instant strictly after `now`."""
    latest = latest_period(schedule, now)
    return period_for(schedule, latest.local_date + schedule.step).send_at


def periods_due(schedule: Schedule, due_from: datetime, now: datetime) -> list[Period]:
    """Every period with due_from <= send instant <= now, oldest first (bounded)."""
    periods: list[Period] = []
    period = latest_period(schedule, now)
    while period.send_at >= due_from and len(periods) < MAX_SKIPPED_PERIODS + 1:
        periods.append(period)
        period = period_for(schedule, period.local_date - schedule.step)
    return list(reversed(periods))
