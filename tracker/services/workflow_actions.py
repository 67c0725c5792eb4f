"""What each workflow action named in a definition does to the database (no commits)."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Engagement, Milestone


def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later (clamped to the month's length)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def set_trial_window(engagement: Engagement, params: dict, now: datetime) -> None:
    today = now.date()
    engagement.trial_start = engagement.period_start = today
    engagement.trial_end = engagement.period_end = today + timedelta(days=params["days"])
    engagement.current_period = 0


PLAN_TOLERANCE_DAYS = 7  # a milestone due this close to day N already covers day N


def create_milestones(engagement: Engagement, params: dict, now: datetime) -> None:
    """One milestone per offset from the anchor date, only where the plan has none: an
    existing (not removed) milestone due within 7 days of that day counts, so entering
    the state again, or a plan the manager already wrote, never gets a second set."""
    anchor = getattr(engagement, params.get("anchor", "period_start")) or now.date()
    period = engagement.current_period
    planned = list(
        db.session.scalars(
            select(Milestone.due_date).where(
                Milestone.engagement_id == engagement.id, Milestone.removed_at.is_(None)
            )
        )
    )
    label = "Trial" if period == 0 else f"Extension {period}"
    for offset in params.get("offsets", [30, 60, 90]):
        due = anchor + timedelta(days=offset)
        if any(abs((day - due).days) <= PLAN_TOLERANCE_DAYS for day in planned):
            continue
        planned.append(due)
        db.session.add(
            Milestone(
                engagement_id=engagement.id,
                period=period,
                title=f"{label} day-{offset} milestone",
                due_date=due,
                success_criteria="",
            )
        )


def start_extension(engagement: Engagement, params: dict, now: datetime) -> None:
    engagement.current_period += 1
    engagement.period_start = now.date()
    engagement.period_end = add_months(now.date(), int(params["months"]))


def record_review(engagement: Engagement, params: dict, now: datetime) -> None:
    engagement.review_summary = params["text"]


def record_reason(engagement: Engagement, params: dict, now: datetime) -> None:
    """The reason goes into the audit record written with the transition."""


def set_outcome(engagement: Engagement, params: dict, now: datetime) -> None:
    engagement.outcome = params["outcome"]


IMPLEMENTATIONS: dict[str, Callable[[Engagement, dict, datetime], None]] = {
    "set_trial_window": set_trial_window,
    "create_milestones": create_milestones,
    "start_extension": start_extension,
    "record_review": record_review,
    "record_reason": record_reason,
    "set_outcome": set_outcome,
}
