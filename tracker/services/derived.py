"""Derived data: everything a change keeps current besides the rows it writes, in one place.

A reader of any service finds here all that its commit triggers. Every service commits
through one unit of work, `tracker.services.core.transactions.commit_and_derive`, and
that call is what keeps every derived value below current, in the same transaction
(never a later job that could miss one), except what time alone changes, which the
scheduler's tick catches up. No service names what it changed: the pipeline sees it.
`register_derived_data(app)` is called by create_app and installs the pipeline: the
listeners below and the unit of work's before-commit hook. Nothing is installed by
importing a module. Why one pipeline with two kinds of step: docs/adr/0231.

The pipeline, in the order it runs within one unit of work:

At every flush (PER_FLUSH, in this order; these steps need the flush's own changes, the
old and new value of a column, which only a flush still knows):
1. `Engagement.effective_health` and its sort rank `health_rank` (ADR 0239):
   `models.engagement.store_effective_health`, a mapper hook before every insert and
   update of an engagement (MAPPER_HOOKS); for a set-based UPDATE that writes the
   effective health (no flush), `models.engagement.rank_updated_health` at execution.
2. `Reminder` rows of deleted milestones and checklist items cancelled:
   `reminder_planning.cancel_deleted_after_flush` (only the flush knows what it deleted).
3. `WebhookDelivery` rows for each subscribed endpoint: `webhook_events.queue_after_flush`,
   for the flush's changes to engagements (health included), milestones, checklist items,
   ADRs and shadows; transitions call `webhook_events.queue_transition_events` themselves.
   The enabled endpoints are read once per unit of work, not once per event (read again
   after a flush that wrote an endpoint: `webhooks.forget_enabled_endpoints_after_flush`,
   which runs just before this step; ADR 0250).
4. `WorkflowTimer.due_at` of the current state's pending timers when an engagement date
   moves without a transition: `timers.replan_timers_after_flush`.
5. `HealthChange` rows (the health history): `health_history.record_after_flush`, for each
   engagement whose effective health the flush changed (and `health.store_health` itself
   for its set-based UPDATE, docs/adr/0170).
6. `EngagementCount` rows (engagements per state and live ones per effective health, the
   dashboard's badges): `engagement_counts.record_after_flush`, a -1 and a +1 row for each
   engagement the flush inserted, deleted or moved to another state, health or closing
   (and `health.store_health` itself for its set-based UPDATE, docs/adr/0259).
7. What the commit steps must look at: `record_touched` notes the engagements whose
   inputs the flush wrote (each commit step says which rows are its inputs), and
   `record_inserted` those of a set-based ORM INSERT, which is no flush (a measurement
   batch).

Once, right before the commit (COMMIT_STEPS, in this order, by `derive_before_commit`,
after a last flush so they see the unit of work's final facts):
8. `Reminder` rows planned and re-planned: `reminder_planning.replan_touched`, for the
   milestones, checklist items and change requests the unit of work wrote, and every
   subject of an engagement whose state or dates moved, from the rows as committed.
   Once per unit of work, not per flush (docs/adr/0244).
9. `Engagement.readiness_score`, `readiness_gaps` and `readiness_parts` (one UPDATE):
   `readiness.store_readiness_step`, for every engagement whose readiness inputs (team
   members, shadows, ADRs, artifacts, checklist items, drills, access entries, the exit;
   a new engagement) were written. Once per unit of work, not per flush: a new
   engagement flushed three times and was scored three times (docs/adr/0244).
10. `Engagement.health` and `health_reasons`: `health.refresh_health`, for every engagement
    whose HEALTH_INPUTS rows (its own columns, milestones, checklist items, metrics,
    targets, measurements, team members, access entries, change requests) were written.
    The commit then flushes a health that moved, which runs steps 1, 3, 5 and 6 for it
    (the effective health, the `engagement.health_changed` webhook row, the history row
    and the counts); reasons that moved under the same health are one version-checked
    UPDATE, no flush (docs/adr/0261).

And as days pass: `health.refresh_due`, the scheduler tick's "health" step
(tracker/scheduling/tick.py), re-judges health and readiness that time alone moved; its
"counts" step folds the counts' ledger (`engagement_counts.fold`).

To add derived data: write the step as a function in the service that owns the data and
add one line here: to PER_FLUSH if it needs a flush's old and new values, to
COMMIT_STEPS if it needs an engagement's whole facts (with the rows it reads as inputs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import event

from tracker.extensions import db
from tracker.models import Engagement
from tracker.models.engagement import rank_updated_health, store_effective_health
from tracker.services.core.transactions import DERIVE_AS_OF, install_commit_hook
from tracker.services.judgments import engagement_counts, readiness
from tracker.services.judgments.health import refresh_health
from tracker.services.judgments.health_facts import engagements_inserted, engagements_touched
from tracker.services.judgments.health_history import (
    record_after_flush as record_health_after_flush,
)
from tracker.services.messaging.webhook_events import queue_after_flush as queue_webhook_events
from tracker.services.messaging.webhooks import (
    forget_enabled_endpoints,
    forget_enabled_endpoints_after_flush,
)
from tracker.services.workflow import reminder_planning
from tracker.services.workflow.timers import replan_timers_after_flush

# session.info key: commit step name -> the keys its inputs were written for (engagement
# ids; for reminders, (engagement id, subject kind, subject id)).
TOUCHED = "derived.touched"
# session.info key: a bulk loader that derives its rows itself (set-based) is loading.
SET_BASED_LOAD = "derived.set_based_load"


@dataclass(frozen=True)
class Listener:
    target: object  # db.session (every session) or a mapped class
    event: str
    step: Callable
    keeps: str


@dataclass(frozen=True)
class CommitStep:
    """A step run once before the commit over the engagements whose inputs changed."""

    keeps: str
    touched: Callable  # (session) -> keys (engagement ids) a flush wrote inputs for
    inserted: Callable  # (model, rows) -> keys a set-based INSERT wrote inputs for
    step: Callable  # (sorted keys, *, now) -> None; writes, never commits


COMMIT_STEPS: tuple[CommitStep, ...] = (
    CommitStep(
        "reminder rows",
        reminder_planning.subjects_touched,
        reminder_planning.subjects_inserted,
        reminder_planning.replan_touched,
    ),
    CommitStep(
        "readiness score and gaps",
        readiness.engagements_touched,
        readiness.engagements_inserted,
        readiness.store_readiness_step,
    ),
    CommitStep(
        "health and health reasons", engagements_touched, engagements_inserted, refresh_health
    ),
)


def record_touched(session, flush_context) -> None:
    """After each flush: note, per commit step, the engagements whose inputs it wrote."""
    pending = session.info.setdefault(TOUCHED, {})
    for step in COMMIT_STEPS:
        ids = step.touched(session)
        if ids:
            pending.setdefault(step.keeps, set()).update(ids)


def record_inserted(orm_execute_state) -> None:
    """A set-based ORM INSERT (`session.execute(insert(Model), rows)`) is no flush: note,
    per commit step, the engagements its rows belong to. A bulk loader that derives its
    own rows set-based (the demo's scale data) sets session.info[SET_BASED_LOAD]."""
    session = orm_execute_state.session
    if not orm_execute_state.is_insert or session.info.get(SET_BASED_LOAD):
        return
    entity = (orm_execute_state.statement.entity_description or {}).get("entity")
    params = orm_execute_state.parameters
    if entity is None or not params:
        return
    rows = [params] if isinstance(params, dict) else list(params)
    pending = session.info.setdefault(TOUCHED, {})
    for step in COMMIT_STEPS:
        ids = step.inserted(entity, rows)
        if ids:
            pending.setdefault(step.keeps, set()).update(ids)


def derive_before_commit(session) -> None:
    """The commit steps, once, as the unit of work's last act before its commit.

    Flushes first, so each step sees the final facts and the complete list of
    engagements. A step that raises fails the commit (commit_and_derive rolls back).
    """
    session.flush()
    pending = session.info.pop(TOUCHED, {})
    now = session.info.get(DERIVE_AS_OF)
    for step in COMMIT_STEPS:
        ids = pending.get(step.keeps)
        if ids:
            step.step(sorted(ids), now=now)


def forget_touched(session, *args) -> None:
    """A commit or rollback ends the unit of work: nothing is left to derive."""
    session.info.pop(TOUCHED, None)


PER_FLUSH: tuple[Listener, ...] = (
    Listener(
        db.session,
        "after_flush",
        reminder_planning.cancel_deleted_after_flush,
        "reminder rows of deleted subjects",
    ),
    Listener(
        db.session,
        "after_flush",
        forget_enabled_endpoints_after_flush,
        "webhook endpoints read again after an endpoint changed",
    ),
    Listener(db.session, "after_flush", queue_webhook_events, "outgoing webhook deliveries"),
    Listener(db.session, "after_flush", replan_timers_after_flush, "workflow timers' due instants"),
    Listener(db.session, "after_flush", record_health_after_flush, "health history rows"),
    Listener(
        db.session,
        "after_flush",
        engagement_counts.record_after_flush,
        "engagements per state and health",
    ),
    Listener(db.session, "after_flush", record_touched, "what the commit steps re-derive"),
    Listener(db.session, "do_orm_execute", record_inserted, "what the commit steps re-derive"),
    Listener(db.session, "do_orm_execute", rank_updated_health, "health rank (set-based)"),
)

MAPPER_HOOKS: tuple[Listener, ...] = (
    Listener(Engagement, "before_insert", store_effective_health, "effective health"),
    Listener(Engagement, "before_update", store_effective_health, "effective health"),
)

# The unit of work's end: a commit or rollback clears what was noted for it (and the
# webhook endpoints it read once for all its events; a savepoint's rollback too).
UNIT_OF_WORK_END: tuple[Listener, ...] = (
    Listener(db.session, "after_commit", forget_touched, "nothing left to derive"),
    Listener(db.session, "after_rollback", forget_touched, "nothing left to derive"),
    Listener(db.session, "after_commit", forget_enabled_endpoints, "endpoints read again"),
    Listener(db.session, "after_soft_rollback", forget_enabled_endpoints, "endpoints read again"),
)


def register_derived_data(app: Flask | None = None) -> None:
    """Install the pipeline once per process (the session and mappers are process-wide)."""
    for listener in (*PER_FLUSH, *MAPPER_HOOKS, *UNIT_OF_WORK_END):
        if not event.contains(listener.target, listener.event, listener.step):
            event.listen(listener.target, listener.event, listener.step)
    install_commit_hook(derive_before_commit)
