"""Shared set-up for scheduler tests: a frozen clock and an engagement in its trial."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic

from sqlalchemy import select

from tests import factories
from tracker.core import clock
from tracker.extensions import db
from tracker.models import Engagement, Milestone, OutboxEmail, Reminder
from tracker.services.workflow.reminder_planning import send_instant

# Mid-morning UTC, a Monday: reminders go out at 08:00 (TIMEZONE=UTC in tests).
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def frozen(app, instant: datetime = T0) -> clock.FixedClock:
    """Install and return a clock standing at `instant`."""
    fixed = clock.FixedClock(instant)
    clock.install(app, fixed)
    return fixed


def day_pinned(app, day: date) -> Callable[[], datetime]:
    """Install a clock that runs in real time from noon of `day` (UTC), and return it.

    For modules that take their dates from `date.today()` when imported: a run that
    crosses midnight UTC would otherwise compare yesterday's expectations with today's
    pages. Noon gives twelve hours before the day could change under a test."""
    start, began = datetime.combine(day, time(12), tzinfo=UTC), monotonic()

    def now() -> datetime:
        return start + timedelta(seconds=monotonic() - began)

    clock.install(app, now)
    return now


def trial_engagement(today: date, *, trial_day: int = 40, provider: str = "Northwind ML"):
    """An engagement `trial_day` days into its trial, with a provider user and an owner."""
    owner = factories.make_user("manager")
    provider_user = factories.make_user("provider", provider=provider)
    engagement = factories.make_engagement(owner, provider=provider)
    start = today - timedelta(days=trial_day)
    engagement.state = "trial"
    engagement.trial_start = engagement.period_start = start
    engagement.trial_end = engagement.period_end = start + timedelta(days=90)
    db.session.commit()
    return engagement, owner, provider_user


def add_milestone(engagement: Engagement, due: date, **fields) -> Milestone:
    milestone = Milestone(
        engagement_id=engagement.id,
        title=fields.pop("title", f"Due {due}"),
        due_date=due,
        success_criteria="Metric +5%",
        **fields,
    )
    db.session.add(milestone)
    db.session.commit()
    return milestone


def reminders_for(kind: str, subject_id: int, status: str | None = None) -> list[Reminder]:
    query = select(Reminder).where(Reminder.subject_type == kind, Reminder.subject_id == subject_id)
    if status:
        query = query.where(Reminder.status == status)
    return list(db.session.scalars(query.order_by(Reminder.due_at, Reminder.id)))


def outbox_keys() -> list[str]:
    return list(db.session.scalars(select(OutboxEmail.key).order_by(OutboxEmail.key)))


def at(day: date) -> datetime:
    """The instant reminders for `day` are sent."""
    return send_instant(day)
