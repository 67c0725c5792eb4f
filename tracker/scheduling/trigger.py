"""The scheduler process: APScheduler as a trigger only; the database decides what is due.

`flask scheduler run` blocks and ticks every SCHEDULER_TICK_SECONDS (coalesced, never
two ticks at once in a process, no misfire limit, in-memory job store). Any number of
these processes may run against one PostgreSQL: rows are claimed with SKIP LOCKED and
leases. The web app factory never starts one; `make run` embeds one thread (see
`start_embedded`).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from datetime import UTC

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from tracker.core import clock
from tracker.scheduling import claims
from tracker.scheduling.tick import run_tick

log = logging.getLogger(__name__)
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
_embedded_lock = threading.Lock()


def tick_in_app(app: Flask, only: str = "all") -> dict:
    """One tick inside an app context (what the APScheduler jobs run)."""
    with app.app_context():
        results = run_tick(only=only)
    busy = any(results.values())  # something sent, fired or failed
    (log.info if busy else log.debug)("scheduler tick (%s): %s", only, results)
    return results


def configure(scheduler: BaseScheduler, app: Flask) -> BaseScheduler:
    """UTC, in-memory jobs, two worker threads, and two jobs (first runs immediately).

    "tick" runs timers, reminders, health and digests; "delivery" runs webhooks and the
    outbox in its own thread, so a hung SMTP server delays only delivery (ADR 0161).
    Each job is coalesced and never overlaps itself. Delivery polls every
    SCHEDULER_DELIVERY_SECONDS (at most the tick's interval), so mail goes out soon after
    it is queued and a killed worker's rows are taken over soon after its lease ends.
    """
    scheduler.configure(
        timezone=UTC,
        jobstores={"default": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(2)},
        job_defaults=JOB_DEFAULTS,
    )
    tick = int(app.config["SCHEDULER_TICK_SECONDS"])
    delivery = min(int(app.config.get("SCHEDULER_DELIVERY_SECONDS") or tick), tick)
    for job_id, only, seconds in (("tick", "local", tick), ("delivery", "wire", delivery)):
        scheduler.add_job(
            tick_in_app,
            "interval",
            args=[app, only],
            seconds=seconds,
            id=job_id,
            next_run_time=clock.now(),
            replace_existing=True,
        )
    return scheduler


def run_blocking(app: Flask) -> None:
    """Tick until SIGTERM/SIGINT, then stop cleanly (ADR 0162).

    The signal sets `claims.stopping`: a delivery batch finishes the message in flight,
    commits the batch's outcomes and releases the rows it had not started, and no
    further batch is claimed; the executor waits for the running jobs to return.
    """
    claims.stopping.clear()
    scheduler = configure(BlockingScheduler(), app)

    def stop(signum, frame):
        log.info("scheduler: signal %s, shutting down", signum)
        claims.stopping.set()
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheduler.start()  # returns after shutdown; the executor then waits for the tick


def start_embedded(app: Flask) -> BackgroundScheduler | None:
    """A scheduler thread inside `flask run` (make run); never in gunicorn, never twice.

    Started only when SCHEDULER_EMBEDDED is set, the current command is `flask run`,
    and this is not the reloader's watcher process (which serves no requests).
    """
    if not app.config.get("SCHEDULER_EMBEDDED") or not _is_flask_run():
        return None
    if os.environ.get("FLASK_DEBUG") and os.environ.get("WERKZEUG_RUN_MAIN") != "true":
        return None  # the reloader parent; its child (WERKZEUG_RUN_MAIN=true) embeds one
    with _embedded_lock:
        if app.extensions.get("tracker.scheduling.trigger") is None:
            scheduler = configure(BackgroundScheduler(daemon=True), app)
            scheduler.start()
            app.extensions["tracker.scheduling.trigger"] = scheduler
    return app.extensions["tracker.scheduling.trigger"]


def _is_flask_run() -> bool:
    import click

    context = click.get_current_context(silent=True)
    return context is not None and context.info_name == "run"
