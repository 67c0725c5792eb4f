"""Health rules on what people owe the engagement: overdue checklist items, access left
open after a member's end date (issue 30), drift through approved change requests (issue 31)."""

from __future__ import annotations

from datetime import date

from tracker.models import Health, label
from tracker.services.change_requests.drift import drift_of
from tracker.services.judgments.health_facts import HealthFacts
from tracker.services.judgments.health_reasons import day_text, days_text, reason


def checklist_reasons(facts: HealthFacts, today: date, rules) -> list[dict]:
    reasons = []
    for item in facts.open_items:
        if item.due_date >= today:
            continue
        late = (today - item.due_date).days
        level = Health.RED if late > rules.checklist_red_after.days else Health.AMBER
        text = (
            f"{label(item.kind).capitalize()} item '{item.title}' was due "
            f"{day_text(item.due_date, today)} ({days_text(late)} ago)"
        )
        reasons.append(reason("checklist_overdue", level, text, f"checklist-{item.id}"))
    return reasons


def access_reasons(facts: HealthFacts, today: date, rules) -> list[dict]:
    """A member whose end date has passed can still reach systems: amber, naming them."""
    reasons = []
    for fact in facts.open_access:
        if fact.end_date >= today or today - fact.end_date < rules.open_access_amber_after:
            continue
        systems = ", ".join(fact.systems)
        text = f"{fact.name} left on {day_text(fact.end_date, today)} and can still reach {systems}"
        anchor = f"member-{fact.member_id}"
        reasons.append(reason("access_open_after_end", Health.AMBER, text, anchor))
    return reasons


def drift_reasons(engagement, facts: HealthFacts, rules) -> list[dict]:
    """drift: approved change requests since the trial began past the definition's
    `drift_slip_after` or `drift_cost_percent`: amber, naming the requests."""
    if not facts.approved:
        return []
    drift = drift_of(engagement, facts.approved)
    past = drift.over(rules.drift_slip_after.days, rules.drift_cost_percent)
    if not past:
        return []
    named = ", ".join(f"#{r.id} ({r.why[:60]})" for r in drift.requests)
    text = f"Drift through approved change requests: {' and '.join(past)}; requests {named}"
    return [reason("drift", Health.AMBER, text, "change-requests")]
