"""Batched outbox delivery (ADR 0160): one connection and one commit per batch, renewed leases.

Against a real aiosmtpd server that misbehaves on purpose (tests/support/smtp.py): slow
answers with two workers and a lease shorter than a batch, refused recipients, 4xx and
dropped connections in the middle of a batch, and a clean stop.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tracker.core import clock
from tracker.extensions import db
from tracker.models import OutboxEmail
from tracker.notifications.delivery import deliver_due, lease_for, pace_for
from tracker.scheduling import claims
from tracker.services.messaging.outbox import enqueue

# On PostgreSQL too (ADR 0216): claims and leases: SKIP LOCKED on PostgreSQL.
pytestmark = [pytest.mark.smtp, pytest.mark.postgres]


def _queue(count: int, prefix: str = "batch") -> list[int]:
    rows = [
        enqueue(f"{prefix}:{n}", f"u{n}@example.com", f"Subject {n}", "body") for n in range(count)
    ]
    db.session.commit()
    return [row.id for row in rows]


def _pending() -> int:
    return db.session.scalar(
        select(func.count()).select_from(OutboxEmail).where(OutboxEmail.status == "pending")
    )


def test_a_batch_goes_over_one_connection_and_every_row_is_recorded(make_app, smtp_server):
    # One sender (ADR 0248's further connections: test_delivery_connections.py).
    app = make_app(**smtp_server.config(), MAIL_BATCH=50, MAIL_CONNECTIONS=1)
    with app.app_context():
        _queue(120)
        assert deliver_due(clock.now()) == 120
        rows = db.session.scalars(select(OutboxEmail)).all()
        assert {(r.status, r.attempts, r.lease_until) for r in rows} == {("sent", 1, None)}
    assert len(smtp_server.messages) == 120
    assert smtp_server.connections == 1  # batches of 50, 50 and 20 share the connection


@pytest.mark.slow
def test_slow_smtp_with_two_workers_and_a_short_lease_sends_nothing_twice(pg_app, smtp_server):
    # 0.4 s per message, batches of 40 (16 s) and a lease of 6 s: without the heartbeat
    # (or renewing only the unsent rows) the second worker would reclaim the first's rows.
    # The heartbeat thread renews every 2 s; should it be starved for 4 s on a loaded
    # machine, the sender stops before its next message instead of sending a row it may
    # have lost (ADR 0163), so the assertion holds either way.
    app = pg_app
    app.config.update(smtp_server.config(), SMTP_TIMEOUT=2, MAIL_BATCH=40, MAIL_LEASE_SECONDS=6)
    assert lease_for(app.config).total_seconds() == 6
    smtp_server.slow(0.4)
    with app.app_context():
        _queue(80, "slow")
    errors: list[BaseException] = []
    sent: list[int] = []

    def worker():
        try:
            with app.app_context():
                while _pending():
                    sent.append(deliver_due(clock.now()))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    counts = Counter(smtp_server.message_ids())
    assert len(counts) == 80 and max(counts.values()) == 1, counts.most_common(3)
    assert sum(sent) == 80


def test_refused_4xx_and_dropped_rows_are_per_row_and_the_rest_is_delivered(make_app, smtp_server):
    app = make_app(**smtp_server.config(), MAIL_BATCH=100)
    smtp_server.refuse("u3@example.com", 550, "no such user")
    with app.app_context():
        ids = _queue(10, "mixed")
        smtp_server.fail_next(451, "greylisted")  # the first DATA (u0)
        result = app.test_cli_runner().invoke(args=["scheduler", "tick"], catch_exceptions=False)
    out = json.loads(result.output)
    assert result.exit_code == 1
    assert out["delivery"] == 8 and out["failed"]["delivery"] == 2
    with app.app_context():
        rows = {r.to_address: r for r in db.session.scalars(select(OutboxEmail))}
        greylisted, refused = rows["u0@example.com"], rows["u3@example.com"]
        assert (greylisted.status, greylisted.attempts) == ("pending", 1)
        assert greylisted.next_attempt_at > greylisted.created_at and "451" in greylisted.last_reply
        assert (refused.status, refused.attempts) == ("failed", 1) and "550" in refused.last_reply
        assert all(rows[f"u{n}@example.com"].status == "sent" for n in (1, 2, 4, 5, 6, 7, 8, 9))
        assert {r.id for r in rows.values()} == set(ids)
    received = sorted(m["To"] for m in smtp_server.messages)
    assert received == sorted(f"u{n}@example.com" for n in (1, 2, 4, 5, 6, 7, 8, 9))
    assert smtp_server.connections == 1  # RSET after the refusal, not a new connection


def test_a_connection_dropped_mid_batch_is_retried_then_left_for_later(make_app, smtp_server):
    app = make_app(**smtp_server.config(), MAIL_BATCH=100)
    with app.app_context():
        _queue(6, "drop")
        smtp_server.drop_next(1)  # u0's DATA: a fresh connection, so no immediate retry
        assert deliver_due(clock.now()) == 5
        first = db.session.scalar(
            select(OutboxEmail).where(OutboxEmail.to_address == "u0@example.com")
        )
        assert first.status == "pending"
        where = f"{smtp_server.host}:{smtp_server.port}"
        assert first.last_reply == f"connection closed by the server ({where})"
        # a drop on a reused connection (the second message) is retried at once on a new one
        _queue(3, "drop-again")
        smtp_server.drop_next(1, after=1)
        connections = smtp_server.connections
        assert deliver_due(clock.now()) == 3
        assert smtp_server.connections == connections + 2
    assert len(smtp_server.messages) == 8


def test_a_clean_stop_records_what_was_sent_and_releases_the_rest(make_app, smtp_server):
    app = make_app(**smtp_server.config(), MAIL_BATCH=20)
    smtp_server.slow(0.2)  # 20 messages take 4 s: the stop lands well inside the batch

    def stop_after_the_first_message():  # SIGTERM's effect, once delivery is under way
        deadline = time.monotonic() + 60
        while not smtp_server.messages and time.monotonic() < deadline:
            time.sleep(0.01)
        claims.stopping.set()

    with app.app_context():
        _queue(20, "stop")
        stopper = threading.Thread(target=stop_after_the_first_message)
        stopper.start()
        try:
            sent = deliver_due(clock.now())
        finally:
            stopper.join()
            claims.stopping.clear()
        assert 0 < sent < 20
        rows = db.session.scalars(select(OutboxEmail)).all()
        assert sum(r.status == "sent" for r in rows) == sent == len(smtp_server.messages)
        waiting = [r for r in rows if r.status == "pending"]
        assert waiting and all(r.claimed_by is None and r.lease_until is None for r in waiting)
        smtp_server.slow(0)  # the pace only had to let the stop land inside the first batch
        assert deliver_due(clock.now()) == 20 - sent  # released at once, not after the lease


@pytest.mark.slow
def test_a_message_slower_than_the_lease_is_kept_by_the_heartbeat(pg_app, smtp_server):
    # Each message takes 2.5 s against a 2 s lease: only the heartbeat thread, renewing
    # while the message is in flight, keeps the other worker off the batch (ADR 0163).
    app = pg_app
    app.config.update(smtp_server.config(), SMTP_TIMEOUT=5, MAIL_BATCH=3, MAIL_LEASE_SECONDS=2)
    smtp_server.slow(2.5)
    with app.app_context():
        _queue(6, "slower")
    errors: list[BaseException] = []

    def worker():
        try:
            with app.app_context():
                deliver_due(clock.now())
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
        time.sleep(0.2)  # the second claims while the first is in its first message
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    counts = Counter(smtp_server.message_ids())
    assert len(counts) == 6 and max(counts.values()) == 1, counts.most_common(3)


def test_a_worker_that_loses_its_lease_sends_nothing_more(make_app, smtp_server, caplog):
    # While the first message is in flight another worker takes the batch's other rows
    # (as after a stall longer than the lease): the heartbeat finds them gone, the worker
    # stops before its next message, records the one it sent and leaves the rest alone.
    app = make_app(**smtp_server.config(), MAIL_BATCH=5, MAIL_LEASE_SECONDS=2)
    smtp_server.slow(1.0)  # longer than a heartbeat interval (2/3 s)

    def steal_once_the_first_message_is_under_way():
        deadline = time.monotonic() + 30
        while smtp_server.connections == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(
                OutboxEmail.__table__.update()
                .where(OutboxEmail.status == "pending", OutboxEmail.id != first)
                .values(claimed_by="another-worker")
            )

    with app.app_context():
        pace_for(app.config).seconds = 0.01  # it believes the server fast: claims all five
        first, *others = _queue(5, "stolen")
        thief = threading.Thread(target=steal_once_the_first_message_is_under_way)
        thief.start()
        with caplog.at_level("WARNING"):
            sent = deliver_due(clock.now())
        thief.join()
        assert sent == 1 and len(smtp_server.messages) == 1
        rows = {r.id: r for r in db.session.scalars(select(OutboxEmail))}
        assert rows[first].status == "sent"
        assert {(rows[i].status, rows[i].claimed_by) for i in others} == {
            ("pending", "another-worker")
        }
    assert "claimed by another worker" in caplog.text


def test_the_heartbeat_renews_every_held_row_and_reports_a_lost_one(make_app):
    app = make_app()
    with app.app_context():
        ids = _queue(3, "beat")
        worker, claimed = claims.claim(
            OutboxEmail, OutboxEmail.next_attempt_at, clock.now(), lease=timedelta(seconds=10)
        )
        assert sorted(claimed) == ids
        beat = claims.Heartbeat(OutboxEmail, claimed, worker, timedelta(seconds=30))
        assert beat.ensure()  # fresh: no renewal needed
        before = {r.id: r.lease_until for r in db.session.scalars(select(OutboxEmail))}
        beat.valid_until = time.monotonic()  # as if the thread had been starved
        assert beat.ensure()  # renewed at once
        db.session.expire_all()
        after = {r.id: r.lease_until for r in db.session.scalars(select(OutboxEmail))}
        assert all(after[i] > before[i] for i in ids)  # 30 s from now, past the 10 s
        db.session.execute(
            OutboxEmail.__table__.update().where(OutboxEmail.id == ids[0]).values(claimed_by="x")
        )
        db.session.commit()
        beat.valid_until = time.monotonic()
        assert not beat.ensure() and beat.lost == {ids[0]} and beat.held == set(ids[1:])
        assert not beat.ensure()  # a lost row stops the batch for good


def test_a_lease_that_ran_out_during_a_long_drain_is_claimable_in_it(make_app):
    # A drain passes the `now` it started with to every batch; a dead worker's lease that
    # ended after that moment must still be claimable by the drain (not only by the
    # next one), so the survivor picks the rows up as soon as the lease is over.
    app = make_app()
    with app.app_context():
        (row_id,) = _queue(1, "lapsed")
        started = clock.now() - timedelta(seconds=30)
        db.session.execute(
            OutboxEmail.__table__.update()
            .where(OutboxEmail.id == row_id)
            .values(
                next_attempt_at=started - timedelta(minutes=1),
                lease_until=clock.now() - timedelta(seconds=1),
                claimed_by="dead-worker",
            )
        )
        db.session.commit()
        _, ids = claims.claim(OutboxEmail, OutboxEmail.next_attempt_at, started)
        assert ids == [row_id]
