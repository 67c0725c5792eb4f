"""Health rules on the evidence: a target short near or past its milestone's due date,
and a metric not measured for too long (target statuses: services/evidence/judgment.py)."""

from __future__ import annotations

from datetime import date

from tracker.models import Health
from tracker.models.base import FINAL_MILESTONE_STATUSES
from tracker.services.evidence.judgment import TargetStatus
from tracker.services.judgments.health_facts import HealthFacts
from tracker.services.judgments.health_milestones import period_bounds
from tracker.services.judgments.health_reasons import day_text, days_text, reason


def target_reasons(engagement, state, facts: HealthFacts, today: date, rules) -> list[dict]:
    """Evidence: a target short near or past its due date, and metrics measured too long ago.

    Only open milestones of the current period count; a verdict settles a milestone."""
    reasons, stale_seen = [], set()
    start, _ = period_bounds(engagement, state)
    for m in facts.milestones:
        if m.status in FINAL_MILESTONE_STATUSES or m.period != engagement.current_period:
            continue
        for t in facts.targets.get(m.id, ()):
            anchor = f"metric-{t.metric_id}"
            if t.status != "met" and m.due_date < today:
                due = day_text(m.due_date, today)
                text = f"Milestone '{m.title}' was due {due}: {_short(t)}, no verdict"
                reasons.append(reason("target_missed", Health.RED, text, anchor))
            elif t.status != "met" and m.due_date - today <= rules.target_warning_within:
                left = days_text((m.due_date - today).days)
                text = f"{_short(t)} with {left} to '{m.title}'"
                reasons.append(reason("target_at_risk", Health.AMBER, text, anchor))
            if m.due_date >= today and t.metric_id not in stale_seen:
                stale_seen.add(t.metric_id)
                reasons += _measurement_stale(t, start, today, rules)
    return reasons


def _short(t: TargetStatus) -> str:
    """'p95 latency' at 2,300 ms against ≤ 2,000 ms; no figures for cost metrics (hidden
    from providers, and health reasons are shown to everyone who sees the engagement)."""
    if t.kind == "cost":
        return f"'{t.name}' is short of its target"
    if t.latest is None:
        return f"'{t.name}' has no measurement against its target"
    return f"'{t.name}' is not met: {t.sentence.split(': ', 1)[1]}"


def _measurement_stale(t: TargetStatus, start, today: date, rules) -> list[dict]:
    last = t.latest_at.date() if t.latest_at else start
    if last is None or today - last <= rules.measurement_stale_after:
        return []
    since = f"since {day_text(last, today)}" if t.latest_at else "at all this period"
    text = f"No measurement of '{t.name}' {since}"
    return [reason("measurement_stale", Health.AMBER, text, f"metric-{t.metric_id}")]
