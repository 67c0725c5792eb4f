"""Real processes: two `flask scheduler run` on one PostgreSQL, a SIGKILL after claiming, the CLI.

Also: the web app factory starts no scheduler, and the scheduler's APScheduler settings.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta

import click
import pytest
from sqlalchemy import func, select

from tests.support.processes import ROOT, Schedulers, scheduler_env, wait_until
from tests.support.scheduler import add_milestone, trial_engagement
from tracker.core import clock
from tracker.extensions import db
from tracker.models import OutboxEmail, Reminder
from tracker.notifications.delivery import deliver_due
from tracker.services.messaging.outbox import enqueue


def _overdue_milestones(count: int) -> int:
    """`count` overdue milestones: one due overdue reminder each, to provider and owner."""
    today = clock.now().date()
    engagement, _, _ = trial_engagement(today)
    for n in range(count):
        add_milestone(engagement, today - timedelta(days=1), title=f"M{n}")
    due = select(func.count(Reminder.id)).where(
        Reminder.status == "pending", Reminder.due_at <= clock.now()
    )
    return db.session.scalar(due)


@pytest.mark.slow
@pytest.mark.smtp
@pytest.mark.postgres
def test_two_scheduler_processes_deliver_every_reminder_once(pg_app, smtp_server, tmp_path):
    with pg_app.app_context():
        due = _overdue_milestones(150)
    assert due == 150
    with Schedulers(scheduler_env(pg_app, **smtp_server.config()), tmp_path) as schedulers:
        for _ in range(2):
            schedulers.start()
        assert wait_until(lambda: len(smtp_server.messages) >= 300), len(smtp_server.messages)
        time.sleep(2)  # a duplicate would arrive now
    codes = schedulers.codes
    ids = smtp_server.message_ids()
    assert len(ids) == 300 and len(set(ids)) == 300
    assert codes == [0, 0]  # clean shutdown on SIGTERM
    with pg_app.app_context():
        workers = db.session.scalars(select(OutboxEmail.claimed_by).distinct()).all()
        assert db.session.scalar(select(func.count()).where(OutboxEmail.status == "sent")) == 300
    assert len(workers) >= 1


@pytest.mark.slow
@pytest.mark.smtp
@pytest.mark.postgres
def test_a_scheduler_killed_mid_batch_loses_nothing_and_resends_only_its_uncommitted_rows(
    pg_app, smtp_server, tmp_path
):
    # Two `flask scheduler run` on PostgreSQL share 1,000 due reminders (500 overdue
    # milestones, provider and owner each). One is SIGKILLed while it holds a batch
    # in flight, then started again. Nothing may be lost, and the only messages sent
    # twice are rows the dead worker still held uncommitted, each resent with its own
    # Message-ID (ADR 0160's bound, at most MAIL_BATCH per kill).
    with pg_app.app_context():
        assert _overdue_milestones(500) == 500
    smtp_server.slow(0.005)  # a batch of 50 takes at least 0.25 s: the kill lands inside one
    env = scheduler_env(
        pg_app,
        **smtp_server.config(),
        MAIL_BATCH=50,
        MAIL_LEASE_SECONDS=3,
        SCHEDULER_DELIVERY_SECONDS=1,
    )
    with Schedulers(env, tmp_path) as schedulers:
        for _ in range(2):
            schedulers.start()
        assert wait_until(lambda: len(smtp_server.messages) >= 200, 180)
        uncommitted = schedulers.kill_until_one_dies_holding(pg_app, OutboxEmail)
        sent_before_the_kill = len(smtp_server.messages)
        assert wait_until(lambda: len(set(smtp_server.message_ids())) >= 1000, 240), len(
            set(smtp_server.message_ids())
        )
        time.sleep(2)  # a stray duplicate would arrive now
    codes = schedulers.codes
    ids = smtp_server.message_ids()
    counts = Counter(ids)
    twice = {message_id for message_id, n in counts.items() if n > 1}
    assert len(counts) == 1000  # nothing lost
    assert max(counts.values()) <= 2
    assert twice <= set(uncommitted.values()), "a row the dead worker did not hold was resent"
    assert len(twice) <= 50  # at most one batch, from the one kill that landed inside one
    assert 0 < len(uncommitted) <= 50 and sent_before_the_kill < 1000
    assert sorted(codes)[-2:] == [0, 0]  # the survivors stop cleanly
    with pg_app.app_context():
        assert db.session.scalar(select(func.count()).where(OutboxEmail.status == "sent")) == 1000
        assert db.session.scalar(select(func.count()).where(OutboxEmail.status != "sent")) == 0


KILLER = """
import os, signal, sys
sys.path.insert(0, {root!r})
from config import TestingConfig
from tracker import create_app
from tracker.core import clock
from tracker.models import OutboxEmail
from tracker.scheduling.claims import claim
app = create_app(TestingConfig)
with app.app_context():
    worker, ids = claim(OutboxEmail, OutboxEmail.next_attempt_at, clock.now())
    print(len(ids), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # dies holding the lease, before sending
"""


@pytest.mark.smtp
def test_rows_claimed_by_a_killed_process_are_delivered_after_the_lease(make_app, smtp_server):
    app = make_app(**smtp_server.config())
    with app.app_context():
        for n in range(5):
            enqueue(f"kill:{n}", f"u{n}@example.com", "Subject", "body")
        db.session.commit()
    done = subprocess.run(
        [sys.executable, "-c", KILLER.format(root=str(ROOT))],
        cwd=ROOT,
        env=scheduler_env(app),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == -signal.SIGKILL and done.stdout.strip() == "5", done.stderr
    with app.app_context():
        assert deliver_due(clock.now()) == 0  # still leased to the dead process
        assert deliver_due(clock.now() + timedelta(minutes=6)) == 5
    assert sorted(m["To"] for m in smtp_server.messages) == [f"u{n}@example.com" for n in range(5)]


def test_flask_scheduler_tick_prints_the_step_counts(app):
    with app.app_context():
        enqueue("cli:1", "cli@example.com", "Subject", "body")
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["scheduler", "tick"])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output)
    assert counts["delivery"] == 1 and counts["timers"] == 0 and counts["reminders"] == 0


def test_the_app_factory_starts_no_scheduler(make_app, monkeypatch):
    monkeypatch.setenv("SCHEDULER_EMBEDDED", "1")
    before = {t.name for t in threading.enumerate()}
    app = make_app(SCHEDULER_EMBEDDED=True)
    from tracker.scheduling.trigger import start_embedded

    assert start_embedded(app) is None  # not inside `flask run`
    assert app.extensions.get("tracker.scheduling.trigger") is None
    assert {t.name for t in threading.enumerate()} == before


def test_flask_run_embeds_one_scheduler_thread_and_only_once(make_app):
    from tracker.scheduling.trigger import start_embedded

    app = make_app(SCHEDULER_EMBEDDED=True, SCHEDULER_TICK_SECONDS=3600)
    with click.Context(click.Command("run"), info_name="run"):
        first = start_embedded(app)
        second = start_embedded(app)
    try:
        assert first is not None and first is second and first.running
    finally:
        first.shutdown(wait=True)


def test_scheduler_job_settings():
    from apscheduler.schedulers.background import BackgroundScheduler

    from tracker import create_app
    from tracker.scheduling.trigger import configure

    def jobs(**settings):
        app = create_app(__import__("config").TestingConfig, **settings)
        scheduler = configure(BackgroundScheduler(), app)
        scheduler.start(paused=True)  # job defaults are applied when the job is added
        found = [scheduler.get_job("tick"), scheduler.get_job("delivery")]
        scheduler.shutdown(wait=False)
        assert str(scheduler.timezone) == "UTC"
        return found

    tick, delivery = jobs(SCHEDULER_TICK_SECONDS=30)
    for job in (tick, delivery):  # delivery in its own job: a hung relay delays only it
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, None)
    assert [job.args[1] for job in (tick, delivery)] == ["local", "wire"]
    # delivery polls every 5 s by default (ADR 0163), never less often than the tick
    assert tick.trigger.interval == timedelta(seconds=30)
    assert delivery.trigger.interval == timedelta(seconds=5)
    _, delivery = jobs(SCHEDULER_TICK_SECONDS=30, SCHEDULER_DELIVERY_SECONDS=120)
    assert delivery.trigger.interval == timedelta(seconds=30)


@pytest.mark.slow
@pytest.mark.smtp
def test_a_slow_smtp_server_delays_only_delivery_not_reminders(make_app, smtp_server):
    """The two scheduler jobs (ADR 0161): while the outbox crawls through a server taking
    2 s a message, reminders that fall due meanwhile still become email at the next tick."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from tracker.scheduling import claims
    from tracker.scheduling.trigger import configure

    app = make_app(**smtp_server.config(), SCHEDULER_TICK_SECONDS=1, MAIL_BATCH=50)
    smtp_server.slow(2.0)
    with app.app_context():
        for n in range(10):  # 20 s of delivery, one message after another
            enqueue(f"slow:{n}", f"slow{n}@example.com", "Queued first", "body")
        db.session.commit()

    def pending_reminders() -> int:
        with app.app_context():
            count = select(func.count(Reminder.id)).where(
                Reminder.status == "pending", Reminder.due_at <= clock.now()
            )
            return db.session.scalar(count)

    claims.stopping.clear()
    scheduler = configure(BackgroundScheduler(daemon=True), app)
    scheduler.start()
    try:
        assert wait_until(lambda: smtp_server.connections >= 1, timeout=20)  # delivery busy
        with app.app_context():
            assert _overdue_milestones(3) >= 3  # fall due while the batch is in flight
        became_due = time.monotonic()
        assert wait_until(lambda: pending_reminders() == 0, timeout=30)
        waited = time.monotonic() - became_due
        delivered = len(smtp_server.messages)
    finally:
        claims.stopping.set()  # the delivery batch stops after the message in flight
        scheduler.shutdown(wait=True)
        claims.stopping.clear()
    # One job would have finished the 20 s batch first; two jobs take the next tick.
    assert delivered < 10 and waited < 10, (delivered, waited)
