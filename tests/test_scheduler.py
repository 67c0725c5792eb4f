"""Real processes: two `flask scheduler run` on one PostgreSQL, a SIGKILL after claiming, the CLI.

Also: the web app factory starts no scheduler, and the scheduler's APScheduler settings.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import click
import pytest
from sqlalchemy import func, select

from tests.support.scheduler import add_milestone, trial_engagement
from tracker.core import clock
from tracker.extensions import db
from tracker.models import OutboxEmail, Reminder
from tracker.notifications.delivery import deliver_due
from tracker.services.outbox import enqueue

ROOT = Path(__file__).resolve().parents[1]
FLASK = str(ROOT / ".venv" / "bin" / "flask")


def _env(app, **extra) -> dict:
    env = dict(os.environ)
    env.update(
        APP_ENV="testing",
        FLASK_APP="wsgi",
        TEST_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        MAIL_DIR=app.config["MAIL_DIR"],
        SMTP_HOST="",
        SCHEDULER_TICK_SECONDS="1",
    )
    env.pop("SCHEDULER_EMBEDDED", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _wait_until(predicate, timeout: float = 120) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


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
    env = _env(pg_app, **{k: v for k, v in smtp_server.config().items()})
    logs = [open(tmp_path / f"scheduler-{n}.log", "wb") for n in range(2)]  # noqa: SIM115
    procs = [
        subprocess.Popen([FLASK, "scheduler", "run"], cwd=ROOT, env=env, stdout=log, stderr=log)
        for log in logs
    ]
    try:
        assert _wait_until(lambda: len(smtp_server.messages) >= 300), len(smtp_server.messages)
        time.sleep(2)  # a duplicate would arrive now
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(30) for proc in procs]
        for log in logs:
            log.close()
    ids = smtp_server.message_ids()
    assert len(ids) == 300 and len(set(ids)) == 300
    assert codes == [0, 0]  # clean shutdown on SIGTERM
    with pg_app.app_context():
        workers = db.session.scalars(select(OutboxEmail.claimed_by).distinct()).all()
        assert db.session.scalar(select(func.count()).where(OutboxEmail.status == "sent")) == 300
    assert len(workers) >= 1


KILLER = """
import os, signal, sys
sys.path.insert(0, {root!r})
from config import TestingConfig
from tracker import create_app
from tracker.core import clock
from tracker.models import OutboxEmail
from tracker.core.claims import claim
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
        env=_env(app),
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
    from tracker.scheduler import start_embedded

    assert start_embedded(app) is None  # not inside `flask run`
    assert app.extensions.get("tracker.scheduler") is None
    assert {t.name for t in threading.enumerate()} == before


def test_flask_run_embeds_one_scheduler_thread_and_only_once(make_app):
    from tracker.scheduler import start_embedded

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
    from tracker.scheduler import configure

    app = create_app(__import__("config").TestingConfig, SCHEDULER_TICK_SECONDS=30)
    scheduler = configure(BackgroundScheduler(), app)
    scheduler.start(paused=True)  # job defaults are applied when the job is added for real
    jobs = [scheduler.get_job("tick"), scheduler.get_job("delivery")]
    scheduler.shutdown(wait=False)
    assert str(scheduler.timezone) == "UTC"
    for job in jobs:  # delivery in its own job, so a hung relay delays only it (ADR 0161)
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, None)
        assert job.trigger.interval == timedelta(seconds=30)
    assert [job.args[1] for job in jobs] == ["local", "wire"]


@pytest.mark.slow
@pytest.mark.smtp
def test_a_slow_smtp_server_delays_only_delivery_not_reminders(make_app, smtp_server):
    """The two scheduler jobs (ADR 0161): while the outbox crawls through a server taking
    2 s a message, reminders that fall due meanwhile still become email at the next tick."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from tracker.core import claims
    from tracker.scheduler import configure

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
        assert _wait_until(lambda: smtp_server.connections >= 1, timeout=20)  # delivery busy
        with app.app_context():
            assert _overdue_milestones(3) >= 3  # fall due while the batch is in flight
        became_due = time.monotonic()
        assert _wait_until(lambda: pending_reminders() == 0, timeout=30)
        waited = time.monotonic() - became_due
        delivered = len(smtp_server.messages)
    finally:
        claims.stopping.set()  # the delivery batch stops after the message in flight
        scheduler.shutdown(wait=True)
        claims.stopping.clear()
    # One job would have finished the 20 s batch first; two jobs take the next tick.
    assert delivered < 10 and waited < 10, (delivered, waited)
