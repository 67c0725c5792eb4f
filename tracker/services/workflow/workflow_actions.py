"""What each workflow action named in a definition does to the database (no commits)."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Engagement, Milestone, MilestoneTarget, SuccessMetric


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
    final = _final_targets(engagement, period)
    created = []
    for offset in params.get("offsets", [30, 60, 90]):
        due = anchor + timedelta(days=offset)
        if any(abs((day - due).days) <= PLAN_TOLERANCE_DAYS for day in planned):
            continue
        planned.append(due)
        milestone = Milestone(
            engagement_id=engagement.id,
            period=period,
            title=f"{label} day-{offset} milestone",
            due_date=due,
            success_criteria="",
        )
        db.session.add(milestone)
        created.append(milestone)
    rule = params.get("targets", "none")
    if rule != "none" and final and created:
        db.session.flush()
        for milestone in created:
            for metric_id, (baseline, goal, final_due) in final.items():
                value = _derived(rule, baseline, goal, anchor, final_due, milestone.due_date)
                db.session.add(
                    MilestoneTarget(milestone_id=milestone.id, metric_id=metric_id, target=value)
                )


def _final_targets(engagement: Engagement, period: int) -> dict[int, tuple]:
    """metric id -> (baseline, target, due) on the period's last milestone with targets."""
    rows = db.session.execute(
        select(MilestoneTarget.metric_id, SuccessMetric.baseline, MilestoneTarget.target)
        .add_columns(Milestone.due_date)
        .join(Milestone, Milestone.id == MilestoneTarget.milestone_id)
        .join(SuccessMetric, SuccessMetric.id == MilestoneTarget.metric_id)
        .where(Milestone.engagement_id == engagement.id, Milestone.period == period)
        .where(Milestone.removed_at.is_(None), SuccessMetric.removed_at.is_(None))
        .order_by(Milestone.due_date, Milestone.id)
    ).all()
    return {r.metric_id: (r.baseline, r.target, r.due_date) for r in rows}  # the last wins


def _derived(rule: str, baseline, goal: float, anchor: date, final_due: date, due: date) -> float:
    """The definition's rule: the final target, or a point on the line towards it."""
    if rule != "linear" or baseline is None or due >= final_due or final_due <= anchor:
        return goal
    share = max(0, (due - anchor).days) / (final_due - anchor).days
    return round(baseline + (goal - baseline) * share, 6)


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
