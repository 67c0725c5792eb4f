"""Derived data: everything a change keeps current besides the rows it writes, in one place.

A reader of any service finds here all that its flush and commit trigger. Every service
commits through one unit of work, `tracker.services.core.transactions.commit_and_derive`;
derived values are written in that same transaction (never by a later job that could
miss one), except what time alone changes, which the scheduler's tick catches up.
`register_derived_data(app)` is called by create_app and installs the listeners below
and the unit of work's commit step; nothing is installed by importing a module.

What is kept current, by what:

- `Engagement.effective_health`: `models.engagement.store_effective_health`, a mapper
  listener before every insert and update of an engagement (MAPPER_LISTENERS).
- `Engagement.readiness_score`, `readiness_gaps` and the breakdown `readiness_parts`
  (one UPDATE): `readiness.store_readiness_after_flush`,
  after every flush that touches a readiness input (SESSION_LISTENERS).
- `Reminder` rows planned, re-planned and cancelled: `reminder_planning.replan_after_flush`,
  after every flush that touches a milestone, checklist item or engagement (SESSION_LISTENERS).
- `Engagement.health` and `health_reasons`: `judgments.health.refresh_health`, the unit
  of work's commit step (COMMIT_STEPS) for the engagements a service names:
  `commit_and_derive(health_of=engagement)` in transitions, milestones, checklists,
  evidence metrics and the handover access register and drills; `derive_health` where
  a step inside another service's unit of work moves health (bound checklist items, a
  measurement batch).
- `WebhookDelivery` rows for each subscribed endpoint: `webhook_events.queue_after_flush`,
  after every flush that changes an engagement, milestone, checklist item, ADR or shadow
  (SESSION_LISTENERS); transitions call `webhook_events.queue_transition_events` themselves.
- `WorkflowTimer.due_at` of the current state's pending timers when an engagement date
  moves without a transition: `timers.replan_timers_after_flush` (SESSION_LISTENERS).
- `HealthChange` rows (the health history): `health_history.record_after_flush` after every
  flush that changes an engagement's effective health (SESSION_LISTENERS), and
  `health.store_health` itself for its set-based UPDATE (docs/adr/0170).
- Health and readiness as days pass: `health.refresh_due`, the scheduler tick's
  "health" step (tracker/scheduling/tick.py).

To add derived data (a webhook row, a calendar sequence number): write the step as
a function in the service that owns the data and add one line to SESSION_LISTENERS
or MAPPER_LISTENERS (or, for a step that needs the engagements a service names, to
COMMIT_STEPS, run by the unit of work).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import event

from tracker.extensions import db
from tracker.models import Engagement
from tracker.models.engagement import store_effective_health
from tracker.services.core.transactions import install_health_step
from tracker.services.judgments.health import refresh_health
from tracker.services.judgments.health_history import (
    record_after_flush as record_health_after_flush,
)
from tracker.services.judgments.readiness import store_readiness_after_flush
from tracker.services.messaging.webhook_events import queue_after_flush as queue_webhook_events
from tracker.services.workflow.reminder_planning import replan_after_flush
from tracker.services.workflow.timers import replan_timers_after_flush


@dataclass(frozen=True)
class Listener:
    target: object  # db.session (every session) or a mapped class
    event: str
    step: Callable
    keeps: str


# Run in this order after each flush: readiness first, then reminder planning, then the
# webhook rows (docs/adr/0092) for the flush's events.
SESSION_LISTENERS: tuple[Listener, ...] = (
    Listener(db.session, "after_flush", store_readiness_after_flush, "readiness score and gaps"),
    Listener(db.session, "after_flush", replan_after_flush, "reminder rows"),
    Listener(db.session, "after_flush", queue_webhook_events, "outgoing webhook deliveries"),
    Listener(db.session, "after_flush", replan_timers_after_flush, "workflow timers' due instants"),
    Listener(db.session, "after_flush", record_health_after_flush, "health history rows"),
)

MAPPER_LISTENERS: tuple[Listener, ...] = (
    Listener(Engagement, "before_insert", store_effective_health, "effective health"),
    Listener(Engagement, "before_update", store_effective_health, "effective health"),
)

# Run by the unit of work (commit_and_derive) after a flush and before the commit, for
# the engagements a service names with `health_of=`: health needs the whole engagement's
# facts (milestones, evidence, checklists, dates), not one flushed row.
COMMIT_STEPS: dict[str, Callable] = {"health and health reasons": refresh_health}


def register_derived_data(app: Flask | None = None) -> None:
    """Install every listener once per process (the session and mappers are process-wide)."""
    for listener in (*SESSION_LISTENERS, *MAPPER_LISTENERS):
        if not event.contains(listener.target, listener.event, listener.step):
            event.listen(listener.target, listener.event, listener.step)
    install_health_step(COMMIT_STEPS["health and health reasons"])
