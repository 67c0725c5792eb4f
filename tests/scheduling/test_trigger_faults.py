"""The scheduler under faults, with real processes on PostgreSQL (issue 32).

`flask scheduler run` processes against a real aiosmtpd server: SIGKILL in the middle of
a delivery batch, PostgreSQL stopped (`pg_ctl stop`) for 20 s mid-delivery, SIGKILL
while reminders are being materialised, and two schedulers sharing a slow server.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from tests.support.processes import ROOT, Schedulers, scheduler_env, wait_until
from tests.support.scheduler import add_milestone, trial_engagement
from tracker.core import clock
from tracker.extensions import db
from tracker.models import OutboxEmail, Reminder
from tracker.services.messaging.outbox import enqueue

pytestmark = [pytest.mark.slow, pytest.mark.smtp, pytest.mark.postgres]


def _queue(app, count: int, *, due_in: float = 0.0) -> dict[int, str]:
    """`count` outbox rows due in `due_in` seconds: id → Message-ID."""
    with app.app_context():
        rows = [enqueue(f"fault:{n}", f"u{n}@example.com", f"Hi {n}", "b") for n in range(count)]
        db.session.commit()
        if due_in:
            db.session.execute(
                update(OutboxEmail).values(next_attempt_at=clock.now() + timedelta(seconds=due_in))
            )
            db.session.commit()
        return {row.id: row.message_id for row in rows}


def _statuses(app) -> Counter:
    with app.app_context():
        rows = db.session.execute(
            select(OutboxEmail.status, func.count()).group_by(OutboxEmail.status)
        ).all()
        db.session.rollback()
    return Counter(dict(rows))


def _duplicates(smtp_server) -> tuple[Counter, set[str]]:
    counts = Counter(smtp_server.message_ids())
    return counts, {message_id for message_id, n in counts.items() if n > 1}


def test_sigkill_mid_batch_resends_at_most_a_handful_with_the_same_message_id(
    pg_app, smtp_server, tmp_path
):
    # 600 due emails, batches of 200, two schedulers; one is SIGKILLed while it holds a
    # batch in flight and started again. Sent messages are recorded as they go (ADR
    # 0205): only those in flight when it died (at most Recorder.GROUP + 1) go twice.
    sent = _queue(pg_app, 600)
    smtp_server.slow(0.01)
    env = scheduler_env(
        pg_app, **smtp_server.config(), MAIL_LEASE_SECONDS=3, SCHEDULER_DELIVERY_SECONDS=1
    )
    with Schedulers(env, tmp_path) as schedulers:
        for _ in range(2):
            schedulers.start()
        assert wait_until(lambda: len(smtp_server.messages) >= 60, 120)
        _, uncommitted = schedulers.kill_one_holding(pg_app, OutboxEmail)
        schedulers.start()  # restarted
        assert wait_until(lambda: len(set(smtp_server.message_ids())) >= 600, 180)
        time.sleep(4)  # past the dead worker's lease: a stray duplicate would arrive now
    counts, twice = _duplicates(smtp_server)
    print(f"SIGKILL mid-batch: {len(twice)} sent twice, {len(uncommitted)} held when killed")
    assert set(counts) == set(sent.values())  # nothing lost
    assert max(counts.values()) <= 2
    assert len(twice) <= 20, len(twice)
    assert twice <= set(uncommitted.values()), "a message the dead worker had recorded went twice"
    assert _statuses(pg_app) == Counter({"sent": 600})


def test_postgres_stopped_20_s_mid_delivery_resends_at_most_a_handful(
    pg_app, pg_cluster, smtp_server, tmp_path
):
    # The database goes away while a batch is being sent: the sender stops at its next
    # write, keeps what it could not record and retries; the scheduler survives and
    # drains after the restart. Only outcomes it could not record are sent again.
    sent = _queue(pg_app, 600)
    smtp_server.slow(0.02)
    env = scheduler_env(
        pg_app, **smtp_server.config(), MAIL_LEASE_SECONDS=3, SCHEDULER_DELIVERY_SECONDS=1
    )
    with Schedulers(env, tmp_path) as schedulers:
        schedulers.start()
        assert wait_until(lambda: len(smtp_server.messages) >= 100, 120)
        with pg_app.app_context():
            db.session.remove()
            db.engine.dispose()
        pg_cluster.stop_server()
        try:
            down_at = len(smtp_server.messages)
            time.sleep(20)
            during = len(smtp_server.messages) - down_at
        finally:
            pg_cluster.start_server()
        assert wait_until(lambda: len(set(smtp_server.message_ids())) >= 600, 180)
        time.sleep(4)  # past the lease: a stray duplicate would arrive now
        alive = schedulers.procs[0].poll() is None
    counts, twice = _duplicates(smtp_server)
    print(f"PostgreSQL down 20 s: {len(twice)} sent twice, {during} sent during the outage")
    assert alive  # the scheduler survived the outage
    assert during <= 20  # it stopped sending once it could not record
    assert set(counts) == set(sent.values())  # nothing lost
    assert max(counts.values()) <= 2 and len(twice) <= 20, len(twice)
    assert _statuses(pg_app) == Counter({"sent": 600})


STUCK_MATERIALISER = """
import sys, time
sys.path.insert(0, {root!r})
from config import TestingConfig
from tracker import create_app
from tracker.core import clock
from tracker.notifications import reminder_delivery

def stuck(ids, worker, now, before_writing=None):
    print(len(ids), flush=True)
    time.sleep(600)  # a batch that takes forever: only the heartbeat keeps its lease

reminder_delivery.materialise = stuck
app = create_app(TestingConfig)
with app.app_context():
    reminder_delivery.process_due(clock.now())
"""


def _overdue_milestones(app, count: int) -> int:
    with app.app_context():
        today = clock.now().date()
        engagement, _, _ = trial_engagement(today)
        for n in range(count):
            add_milestone(engagement, today - timedelta(days=1), title=f"M{n}")
        return _due_reminders(app)


def _held_reminders(app, pid: int) -> int:
    """Pending reminders claimed by process `pid` whose lease has not run out."""
    with app.app_context():
        count = db.session.scalar(
            select(func.count(Reminder.id)).where(
                Reminder.status == "pending",
                Reminder.claimed_by.contains(f":{pid}:"),
                Reminder.lease_until > clock.now(),
            )
        )
        db.session.rollback()
    return count


def _due_reminders(app) -> int:
    with app.app_context():
        due = select(func.count(Reminder.id)).where(
            Reminder.status == "pending", Reminder.due_at <= clock.now()
        )
        count = db.session.scalar(due)
        db.session.rollback()
        return count


def test_a_worker_killed_while_materialising_reminders_is_covered_within_30_s(pg_app, tmp_path):
    # A process claims the due reminders and hangs in the middle of materialising them:
    # its heartbeat keeps the 4 s lease, so a running scheduler leaves them alone; once
    # it is SIGKILLed the scheduler takes them over within the lease, not a minute.
    assert _overdue_milestones(pg_app, 60) == 60
    env = scheduler_env(pg_app, SCHEDULER_LEASE_SECONDS=4)
    stuck = subprocess.Popen(
        [sys.executable, "-c", STUCK_MATERIALISER.format(root=str(ROOT))],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert stuck.stdout.readline().strip() == "60"  # holds every due reminder
        with Schedulers(env, tmp_path) as schedulers:
            schedulers.start()
            time.sleep(8)  # two leases: only renewal keeps them from the scheduler
            still_held = _held_reminders(pg_app, stuck.pid)
            stuck.send_signal(signal.SIGKILL)
            stuck.wait(10)
            killed_at = time.monotonic()
            assert wait_until(lambda: _due_reminders(pg_app) == 0, 60)
            took = time.monotonic() - killed_at
    finally:
        if stuck.poll() is None:
            stuck.kill()
        stuck.stdout.close()
    print(f"killed while materialising: reminders taken over {took:.1f} s after the kill")
    assert still_held == 60
    assert took <= 30, took
    with pg_app.app_context():
        emails = db.session.scalar(select(func.count()).select_from(OutboxEmail))
    assert emails == 120  # provider and owner, each reminder once


def _drain_time(pg_app, smtp_server, tmp_path, processes: int, count: int) -> float:
    """Seconds from the moment `count` emails fall due to the last one's arrival, with
    `processes` schedulers already running (so start-up is not counted)."""
    env = scheduler_env(
        pg_app,
        **smtp_server.config(),
        MAIL_LEASE_SECONDS=3,
        SCHEDULER_DELIVERY_SECONDS=1,
        PYTHONUNBUFFERED=1,
    )
    smtp_server.clear()
    smtp_server.slow(0.5)
    with Schedulers(env, tmp_path, name=f"share-{processes}") as schedulers:
        logs = [tmp_path / f"share-{processes}-{n}.log" for n in range(processes)]
        for _ in range(processes):
            schedulers.start()
        assert wait_until(lambda: all(b"ticking" in log.read_bytes() for log in logs), 60)
        time.sleep(2)  # every process is up and polling
        with pg_app.app_context():
            db.session.execute(OutboxEmail.__table__.delete())
            db.session.commit()
        _queue(pg_app, count, due_in=2)
        due = time.monotonic() + 2
        assert wait_until(lambda: len(smtp_server.messages) >= count, 120)
        took = smtp_server.arrivals[-1] - due
        time.sleep(1)
    with pg_app.app_context():
        workers = db.session.execute(
            select(OutboxEmail.claimed_by, func.count()).group_by(OutboxEmail.claimed_by)
        ).all()
    counts, twice = _duplicates(smtp_server)
    assert len(counts) == count and not twice  # 0 duplicates
    pids = {worker.split(":")[1] for worker, _ in workers}  # host:pid:thread
    assert len(pids) == processes, workers  # each process took part
    return took


def test_two_schedulers_share_a_slow_server_and_drain_nearly_twice_as_fast(
    pg_app, smtp_server, tmp_path
):
    # 0.5 s a message: one process takes about 20 s for 40; with claims sized to one
    # lease of sending (ADR 0206) the second takes part from the first batch on.
    one = _drain_time(pg_app, smtp_server, tmp_path, 1, 40)
    two = _drain_time(pg_app, smtp_server, tmp_path, 2, 40)
    print(f"slow SMTP, 40 messages: one scheduler {one:.1f} s, two {two:.1f} s")
    assert one / two >= 1.8, (one, two)
