"""One scheduler tick: an ordered list of steps, each materialising or delivering what is due.

Other features add a step with a one-line edit to TICK_STEPS (e.g. digests between
reminders and delivery, so the digests built in this tick are delivered in it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from tracker.core import clock, failures
from tracker.extensions import db

log = logging.getLogger(__name__)


def _timers(now: datetime) -> int:
    from tracker.services.timers import fire_due_timers

    return fire_due_timers(now)


def _reminders(now: datetime) -> int:
    from tracker.notifications.reminder_delivery import process_due

    return process_due(now)


def _digests(now: datetime) -> int:
    from tracker.notifications.digests import tick_step

    return tick_step(now)


def _health(now: datetime) -> int:
    from tracker.services.health import refresh_due

    return refresh_due(now)


def _delivery(now: datetime) -> int:
    from tracker.notifications.delivery import deliver_due

    # Everything queued earlier in this tick counts as due (it was queued after `now`).
    return deliver_due(max(now, clock.now()))


def _webhooks(now: datetime) -> int:
    from tracker.notifications.webhook_delivery import deliver_due

    return deliver_due(max(now, clock.now()))


# (name, step(now) -> count). Order matters: timers first (a transition may plan
# reminders), then reminders (they queue email), health before digests (they show
# it), webhooks before email (an endpoint disabled in this tick mails its admin in it),
# then delivery sends the outbox.
TICK_STEPS: list[tuple[str, Callable[[datetime], int]]] = [
    ("timers", _timers),
    ("reminders", _reminders),
    ("health", _health),
    ("digests", _digests),
    ("webhooks", _webhooks),
    ("delivery", _delivery),
]
# The steps that talk to other servers. `flask scheduler run` runs them in their own
# APScheduler job and thread (ADR 0161), so a hung SMTP server or webhook endpoint
# never delays timers, reminders, health or digests; `flask scheduler tick` runs all.
WIRE_STEPS = frozenset({"webhooks", "delivery"})


def run_tick(now: datetime | None = None, *, only: str = "all") -> dict:
    """Run every step once (in an app context); one failing step does not stop the others.

    `only="local"` runs the steps that work on the database alone, `only="wire"` the
    delivery steps (the two scheduler jobs); the default runs all of them, in order.

    Returns each step's count; a step that raised gives "error: ..." instead, and
    `"failed": {step: n}` lists the steps where rows failed (absent when none did).
    Each step's outcome is recorded for /healthz.
    """
    now = now or clock.now()
    results: dict = {}
    failed: dict[str, int] = {}
    for name, step in TICK_STEPS:
        if only != "all" and (name in WIRE_STEPS) != (only == "wire"):
            continue
        error = None
        with failures.collect() as seen:
            try:
                results[name] = step(now)
            except Exception as exc:  # logged and reported; the next tick tries again
                log.exception("scheduler step %s failed", name)
                db.session.rollback()
                error = f"error: {type(exc).__name__}: {exc}"
                results[name] = error
        if seen.count:
            failed[name] = seen.count
        _record(name, seen.count, error or ("; ".join(seen.reasons) or None))
    if failed:
        results["failed"] = failed
    return results


def _record(name: str, count: int, error: str | None) -> None:
    from tracker.services.scheduler_status import record_step

    try:
        record_step(name, clock.now(), failures=count, error=error)
    except Exception:  # bookkeeping must never stop the tick
        log.exception("could not record scheduler step %s", name)
        db.session.rollback()
