"""Holds: what entering and leaving a paused state does to an engagement (no commits).

The transition service calls these inside the transaction that changes the state.
Entering a hold records where it paused from, when and why; the timers of the state
left are cancelled like on any transition. A history transition (resume) returns to
that state and, unless the manager opts out, moves on by the days on hold every date
still ahead at the start of the hold: the engagement's period and trial ends, and
every open milestone and checklist due date. The timers of the state returned to
are then set again from the moved dates, and the reminder planner (a flush hook,
tracker.services.derived) re-plans its reminders. Why: docs/adr/0120.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import ChecklistItem, Engagement, Milestone
from workflows import Plan

# The engagement dates a resume moves on (when still ahead at the start of the hold).
SHIFTED_DATES = ("trial_end", "period_end")
NO_SHIFT = "no"  # the resume input `shift_dates` opting out


def begin(engagement: Engagement, plan: Plan, now: datetime) -> None:
    """Record the hold: the state to return to, since when, why, until when expected."""
    engagement.paused_from_state = plan.from_state
    engagement.paused_at = now
    engagement.pause_reason = plan.cleaned_inputs.get("reason") or ""
    engagement.expected_resume = plan.cleaned_inputs.get("expected_resume")


def end(engagement: Engagement, plan: Plan, now: datetime) -> dict:
    """Close the hold; returns what the audit record keeps: days on hold and each shift."""
    held = held_days(engagement, now)
    shift = plan.cleaned_inputs.get("shift_dates") != NO_SHIFT and held > 0
    since = engagement.paused_at.date() if engagement.paused_at else now.date()
    shifts = _shift_dates(engagement, since, timedelta(days=held)) if shift else []
    record = {"held_days": held, "shifted": bool(shift), "shifts": shifts}
    clear(engagement)
    engagement.resumed_at = now
    return record


def clear(engagement: Engagement) -> None:
    """Forget the hold (resumed, or closed while on hold)."""
    engagement.paused_from_state = None
    engagement.paused_at = None
    engagement.pause_reason = None
    engagement.expected_resume = None


def held_days(engagement: Engagement, now: datetime) -> int:
    """Whole days since the hold began (0 when not on hold)."""
    if engagement.paused_at is None:
        return 0
    return max(0, (now.date() - engagement.paused_at.date()).days)


def _shift(day: date | None, since: date, by: timedelta) -> date | None:
    return day + by if day is not None and day >= since else None


def _shift_dates(engagement: Engagement, since: date, by: timedelta) -> list[dict]:
    shifts = []
    for key in SHIFTED_DATES:
        old = getattr(engagement, key)
        new = _shift(old, since, by)
        if new is not None:
            setattr(engagement, key, new)
            shifts.append(_entry("engagement", engagement.id, key, old, new))
    for milestone in _open_milestones(engagement.id, since):
        old, milestone.due_date = milestone.due_date, milestone.due_date + by
        shifts.append(_entry("milestone", milestone.id, milestone.title, old, milestone.due_date))
    for item in _open_items(engagement.id, since):
        old, item.due_date = item.due_date, item.due_date + by
        shifts.append(_entry("checklist", item.id, item.title, old, item.due_date))
    return shifts


def _entry(kind: str, ident: int, what: str, old: date, new: date) -> dict:
    return {"kind": kind, "id": ident, "what": what, "from": old.isoformat(), "to": new.isoformat()}


def _open_milestones(engagement_id: int, since: date) -> list[Milestone]:
    rows = db.session.scalars(
        select(Milestone)
        .where(
            Milestone.engagement_id == engagement_id,
            Milestone.removed_at.is_(None),
            Milestone.due_date >= since,
        )
        .order_by(Milestone.due_date, Milestone.id)
    )
    return [m for m in rows if not m.is_final]


def _open_items(engagement_id: int, since: date) -> list[ChecklistItem]:
    rows = db.session.scalars(
        select(ChecklistItem)
        .where(ChecklistItem.engagement_id == engagement_id, ChecklistItem.due_date >= since)
        .order_by(ChecklistItem.due_date, ChecklistItem.id)
    )
    return [item for item in rows if not item.is_complete]
