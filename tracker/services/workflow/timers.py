"""Firing due workflow timers through the same transition service a person uses."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from sqlalchemy import insert, inspect, select, update

from tracker.core import failures
from tracker.errors import TrackerError
from tracker.extensions import db
from tracker.models import Engagement, WorkflowTimer
from tracker.scheduling import claims
from tracker.scheduling.claims import drain
from tracker.services.core.transactions import commit_and_derive
from tracker.services.workflow import lifecycle
from tracker.services.workflow.transitions import fire_as_scheduler, start_of_day
from workflows.subject import DATE_KEYS

log = logging.getLogger(__name__)
BATCH = 100


def pending(now, midnight):
    """SQL truth value: a timer is due (what `fire_due_timers` would claim)."""
    return claims.pending(WorkflowTimer, WorkflowTimer.due_at, now)


def fire_due_timers(now: datetime, *, limit: int = BATCH) -> int:
    """Claim due pending timers and fire each; returns how many moved an engagement."""
    return drain(
        WorkflowTimer,
        WorkflowTimer.due_at,
        now,
        partial(_fire_one, now=now),
        limit=limit,
        lease=claims.step_lease(),
    )


def _fire_one(timer_id: int, worker: str, now: datetime) -> int:
    """Fire one timer; a timer whose engagement left `from_state` is cancelled instead."""
    timer = db.session.get(WorkflowTimer, timer_id, populate_existing=True)
    if timer is None or timer.status != "pending" or timer.claimed_by != worker:
        db.session.rollback()
        return 0
    # Re-check under the engagement's row lock: a hold (or any transition) committed
    # after the claim has cancelled this timer or moved the state, and wins.
    engagement = db.session.get(
        Engagement, timer.engagement_id, with_for_update=True, populate_existing=True
    )
    db.session.refresh(timer)
    if timer.status != "pending" or timer.claimed_by != worker or timer.due_at > now:
        db.session.rollback()  # cancelled, taken over, or moved later by a date change
        return 0
    if engagement is None or engagement.state != timer.from_state:
        _finish(timer_id, worker, "cancelled", now, "the engagement left the state")
        return 0
    # Marked fired in the same transaction the transition service commits.
    timer.status, timer.fired_at, timer.attempts = "fired", now, timer.attempts + 1
    timer.lease_until = None
    db.session.flush()
    try:
        fire_as_scheduler(timer.engagement_id, timer.event, now=now)
    except TrackerError as exc:
        db.session.rollback()
        _finish(timer_id, worker, "failed", now, f"{exc.code}: {exc.message}")
        failures.record("timer", timer_id, f"{exc.code}: {exc.message} (given up)")
        return 0
    except Exception as exc:  # a bug: keep the timer pending, retried after the lease
        log.exception("timer %s failed", timer_id)
        db.session.rollback()
        _finish(timer_id, worker, "pending", now, f"{type(exc).__name__}: {exc}")
        failures.record("timer", timer_id, f"{type(exc).__name__}: {exc} (retried later)")
        return 0
    return 1


def _finish(timer_id: int, worker: str, status: str, now: datetime, error: str) -> None:
    db.session.execute(
        update(WorkflowTimer)
        .where(WorkflowTimer.id == timer_id, WorkflowTimer.claimed_by == worker)
        .values(status=status, last_error=error[:2000], attempts=WorkflowTimer.attempts + 1),
        execution_options={"synchronize_session": False},
    )
    commit_and_derive()


# -- date changes move the timers that count from them ---------------------------------


def _dates_moved(obj) -> bool:
    """An engagement whose dates changed without a transition (which sets its own timers)."""
    state = inspect(obj)
    if state.attrs.state.history.has_changes():
        return False
    return any(state.attrs[key].history.has_changes() for key in DATE_KEYS)


def replan_timers_after_flush(session, flush_context) -> None:
    """Re-plan the pending timers of engagements whose dates changed in this flush.

    An `after_flush` listener, installed by tracker.services.derived: a period end
    edited on the page, through the API or by a data migration moves its review timer
    in the same transaction, so nothing fires at the old instant.
    """
    for obj in list(session.dirty):
        if isinstance(obj, Engagement) and not obj.is_closed and _dates_moved(obj):
            replan_timers(session, obj)


def _was_unset(engagement: Engagement, key: str) -> bool:
    """The date just went from unset to set (the timer could not be set on entry)."""
    history = inspect(engagement).attrs[key].history
    return history.has_changes() and all(old is None for old in history.deleted)


def replan_timers(session, engagement: Engagement) -> None:
    """Each timer of the current state due where its date expression now resolves:
    moved, cancelled when its date was cleared, or added when its date was set."""

    dates = {key: getattr(engagement, key) for key in DATE_KEYS}
    pending = session.execute(
        select(WorkflowTimer.id, WorkflowTimer.event, WorkflowTimer.due_at).where(
            WorkflowTimer.engagement_id == engagement.id,
            WorkflowTimer.status == "pending",
            WorkflowTimer.from_state == engagement.state,
        )
    ).all()
    for spec in lifecycle.state_of(engagement).timers:
        day = spec.offset.resolve(dates)
        due = start_of_day(day) if day is not None else None
        rows = [row for row in pending if row.event == spec.event]
        if not rows and due is not None and _was_unset(engagement, spec.offset.anchor):
            session.execute(
                insert(WorkflowTimer).values(
                    engagement_id=engagement.id,
                    event=spec.event,
                    from_state=engagement.state,
                    due_at=due,
                )
            )
        for row in rows:
            values = {"due_at": due, "lease_until": None, "claimed_by": None}
            if due is None:
                values = {"status": "cancelled", "last_error": "its date was cleared"}
            elif row.due_at == due:
                continue
            session.execute(
                update(WorkflowTimer).where(WorkflowTimer.id == row.id).values(**values),
                execution_options={"synchronize_session": False},
            )


def seed_demo_timers(today) -> int:
    """Demo data: the timers each live engagement's state would have set on entering it."""
    added = 0
    for engagement in db.session.scalars(select(Engagement).where(Engagement.closed_at.is_(None))):
        dates = {key: getattr(engagement, key) for key in DATE_KEYS}
        for timer in lifecycle.state_of(engagement).timers:
            day = timer.offset.resolve(dates)
            if day is None:
                continue
            db.session.add(
                WorkflowTimer(
                    engagement_id=engagement.id,
                    event=timer.event,
                    from_state=engagement.state,
                    due_at=start_of_day(day),
                )
            )
            added += 1
    return added
