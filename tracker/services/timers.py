"""Firing due workflow timers through the same transition service a person uses."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from sqlalchemy import update

from tracker.core import failures
from tracker.core.claims import drain
from tracker.errors import TrackerError
from tracker.extensions import db
from tracker.models import Engagement, WorkflowTimer
from workflows.subject import DATE_KEYS

log = logging.getLogger(__name__)
BATCH = 100


def fire_due_timers(now: datetime, *, limit: int = BATCH) -> int:
    """Claim due pending timers and fire each; returns how many moved an engagement."""
    return drain(WorkflowTimer, WorkflowTimer.due_at, now, partial(_fire_one, now=now), limit=limit)


def _fire_one(timer_id: int, worker: str, now: datetime) -> int:
    """Fire one timer; a timer whose engagement left `from_state` is cancelled instead."""
    from tracker.services.transitions import fire_as_scheduler

    timer = db.session.get(WorkflowTimer, timer_id)
    if timer is None or timer.status != "pending" or timer.claimed_by != worker:
        db.session.rollback()
        return 0
    engagement = db.session.get(Engagement, timer.engagement_id)
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
    db.session.commit()


def seed_demo_timers(today) -> int:
    """Demo data: the timers each live engagement's state would have set on entering it."""
    from sqlalchemy import select

    from tracker.services import lifecycle
    from tracker.services.transitions import start_of_day

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
