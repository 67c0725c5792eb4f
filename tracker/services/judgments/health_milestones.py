"""Health rules on the work's schedule: milestones (blocked, at risk, missed, overdue,
stale), the running period (ending, over, without milestones) and a hold."""

from __future__ import annotations

from datetime import date

from tracker.models import Health
from tracker.models.base import FINAL_MILESTONE_STATUSES
from tracker.services.judgments.health_facts import HealthFacts, MilestoneFact
from tracker.services.judgments.health_reasons import day_text, days_text, reason, worst_of
from workflows import State

AWAITING_VERDICT = "done"  # the provider says it is done; the manager has not judged it


def on_hold(engagement, facts: HealthFacts) -> tuple[str, list]:
    """On hold the clock stops: nothing turns overdue, stale or late, so only what the
    people said (a blocked, at-risk or missed milestone) counts beside the hold itself."""
    since = getattr(engagement, "paused_at", None)
    text = "On hold" + (f" since {since:%-d %b}" if since else "")
    why = getattr(engagement, "pause_reason", "")
    text += f", reason: {why}" if why else ""
    expected = getattr(engagement, "expected_resume", None)
    text += f"; expected to resume {expected:%-d %b}" if expected else ""
    reasons = [reason("paused", Health.AMBER, text)]
    for m in facts.milestones:
        reasons += said_reasons(engagement, m)
    return worst_of(reasons), reasons


def said_reasons(engagement, m: MilestoneFact) -> list[dict]:
    """What the people said about a milestone, counted whether or not the clock runs: it
    is blocked (red), at risk (amber), or was missed in the current period (red)."""
    anchor = f"milestone-{m.id}"
    if m.status == "blocked":
        text = f"Milestone '{m.title}' is blocked"
        return [reason("milestone_blocked", Health.RED, text, anchor)]
    if m.status == "at_risk":
        text = f"Milestone '{m.title}' is at risk"
        return [reason("milestone_at_risk", Health.AMBER, text, anchor)]
    if m.status == "missed" and m.period == engagement.current_period:
        text = f"Milestone '{m.title}' was missed"
        return [reason("milestone_missed", Health.RED, text, anchor)]
    return []


def period_bounds(engagement, state: State) -> tuple[date | None, date | None]:
    if not state.is_period:
        return None, None
    return tuple(getattr(engagement, key, None) for key in state.period)


def milestone_reasons(engagement, state, facts, today, rules) -> list[dict]:
    reasons = []
    start, end = period_bounds(engagement, state)
    for m in facts.milestones:
        reasons += said_reasons(engagement, m)
        if m.status in FINAL_MILESTONE_STATUSES:
            continue
        if m.due_date < today:
            reasons.append(_overdue_reason(engagement, state, m, today, rules, end))
        elif state.is_period and start and m.status != AWAITING_VERDICT:
            reasons += _stale_reason(m, _quiet_since(engagement, start), today, rules)
    return reasons


def _overdue_reason(engagement, state, m: MilestoneFact, today, rules, end) -> dict:
    late = (today - m.due_date).days
    period_over = m.period < engagement.current_period or not state.is_period
    period_over = period_over or (end is not None and end < today)
    red = late > rules.overdue_red_after.days or period_over
    waiting = "is done and awaits a verdict" if m.status == AWAITING_VERDICT else "has no verdict"
    due = day_text(m.due_date, today)
    text = f"Milestone '{m.title}' was due {due} ({days_text(late)} ago) and {waiting}"
    return reason(
        "milestone_overdue", Health.RED if red else Health.AMBER, text, f"milestone-{m.id}"
    )


def _quiet_since(engagement, start: date) -> date:
    """Staleness counts from the period start, or from the end of the last hold (the
    days on hold do not count)."""
    resumed = getattr(engagement, "resumed_at", None)
    return max(start, resumed.date()) if resumed is not None else start


def _stale_reason(m: MilestoneFact, start: date, today: date, rules) -> list[dict]:
    seen = [start] + [d.date() for d in (m.last_update_at, m.created_at) if d is not None]
    quiet = today - max(seen)
    if quiet <= rules.stale_after:
        return []
    text = f"No provider update on '{m.title}' for {days_text(quiet.days)}"
    return [reason("milestone_stale", Health.AMBER, text, f"milestone-{m.id}")]


def period_reasons(engagement, state, facts, today, rules) -> list[dict]:
    start, end = period_bounds(engagement, state)
    if start is None or end is None:
        return []
    if end < today:
        text = f"{state.label} ended on {day_text(end, today)} and no review has begun"
        return [reason("period_over", Health.AMBER, text)]
    current = [m for m in facts.milestones if m.period == engagement.current_period]
    if not current:
        text = f"{state.label} has no milestones to judge it by"
        return [reason("period_without_milestones", Health.AMBER, text)]
    pending = [m for m in current if m.status not in FINAL_MILESTONE_STATUSES]
    if pending and end - today <= rules.period_ending_within:
        count = f"{len(pending)} milestone{'s' if len(pending) != 1 else ''}"
        text = (
            f"{state.label} ends in {days_text((end - today).days)} with {count} without a verdict"
        )
        return [reason("period_ending", Health.AMBER, text)]
    return []
