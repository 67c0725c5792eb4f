"""Batched outbox delivery against misbehaving SMTP servers (tests/support/smtp.py).

One batch goes over one connection and is committed once; a refused message is failed
or retried on its own and the rest of the batch is delivered; a dropped connection is
reopened; a hung server stops the batch after two timeouts and the rest are deferred
untried; a lease is renewed while a slow batch runs, so a second worker never takes it.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from tests.support.scheduler import frozen
from tracker.core.claims import claim
from tracker.extensions import db
from tracker.models import OutboxEmail
from tracker.notifications.delivery import deliver_due
from tracker.notifications.tick import run_tick
from tracker.services.outbox import enqueue

pytestmark = pytest.mark.smtp


def _queue(count: int, refused: dict[int, str] | None = None) -> list[int]:
    rows = []
    for n in range(count):
        address = (refused or {}).get(n, f"person{n}@example.com")
        rows.append(enqueue(f"batch:{n}", address, f"Hello {n}", "plain", None))
    db.session.commit()
    return [row.id for row in rows]


def _statuses() -> dict[str, int]:
    rows = db.session.execute(
        select(OutboxEmail.status, func.count()).group_by(OutboxEmail.status)
    ).all()
    return dict(rows)


def test_a_refused_recipient_and_a_4xx_fail_alone_and_the_rest_of_the_batch_is_sent(
    make_app, smtp_server
):
    app = make_app(**smtp_server.config())
    smtp_server.refuse("nobody@example.com")
    with app.app_context():
        frozen(app)
        ids = _queue(20, refused={3: "nobody@example.com"})
        smtp_server.fail_next(451, "4.3.0 later")  # the first DATA (row 0)
        results = run_tick()
        db.session.expire_all()
        assert results["delivery"] == 18
        assert results["failed"]["delivery"] == 2
        failed = db.session.get(OutboxEmail, ids[3])
        assert (failed.status, failed.last_reply) == ("failed", "550 5.1.1 no such user")
        later = db.session.get(OutboxEmail, ids[0])
        assert (later.status, later.attempts) == ("pending", 1)
        assert later.last_reply.startswith("451")
    received = smtp_server.message_ids()
    assert len(received) == 18 == len(set(received))


def test_a_connection_dropped_mid_batch_is_reopened_and_only_that_row_is_retried(
    make_app, smtp_server
):
    app = make_app(**smtp_server.config())
    smtp_server.drop_after(5)
    with app.app_context():
        clock = frozen(app)
        ids = _queue(20)
        assert deliver_due(clock()) == 19
        db.session.expire_all()
        assert _statuses() == {"sent": 19, "pending": 1}
        dropped = db.session.get(OutboxEmail, ids[5])
        assert dropped.attempts == 1 and "Disconnected" in dropped.last_reply
        clock.advance(minutes=1)
        assert deliver_due(clock()) == 1
    received = smtp_server.message_ids()
    assert len(received) == 20 == len(set(received))


def test_a_hung_server_stops_the_batch_after_two_timeouts_and_defers_the_rest(
    make_app, smtp_server
):
    app = make_app(**{**smtp_server.config(), "SMTP_TIMEOUT": 1})
    smtp_server.hang_next(2)
    with app.app_context():
        clock = frozen(app)
        ids = _queue(10)
        started = time.monotonic()
        assert deliver_due(clock()) == 0
        assert time.monotonic() - started < 6  # two timeouts, not ten
        db.session.expire_all()
        rows = [db.session.get(OutboxEmail, i) for i in ids]
        assert [r.attempts for r in rows] == [1, 1] + [0] * 8  # the rest not attempted
        assert all(r.status == "pending" and r.lease_until is None for r in rows)
        clock.advance(minutes=1)
        assert deliver_due(clock()) == 10
    assert len(set(smtp_server.message_ids())) == 10


def test_a_slow_batch_keeps_its_lease_and_a_second_worker_takes_none_of_it(pg_app, smtp_server):
    pg_app.config.update(smtp_server.config(), OUTBOX_LEASE_SECONDS=0.6, OUTBOX_BATCH=5)
    smtp_server.set_delay(0.3)  # a batch of 5 takes 1.5 s, longer than its lease
    with pg_app.app_context():
        _queue(10)
        due = db.session.scalar(select(func.count()).where(OutboxEmail.next_attempt_at <= _now()))
        assert due == 10, (due, _now())

    totals = []

    def worker():
        with pg_app.app_context():
            totals.append(deliver_due(_now()))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
        time.sleep(0.2)
    time.sleep(1.0)  # the first batch is past its initial lease now
    with pg_app.app_context():
        _, stolen = claim(OutboxEmail, OutboxEmail.next_attempt_at, _now(), limit=10)
    for thread in threads:
        thread.join()
    assert stolen == []
    assert sum(totals) == 10
    received = smtp_server.message_ids()
    assert len(received) == 10 == len(set(received))  # 0 duplicates


def _now():
    from tracker.core import clock

    return clock.now()  # the real clock: leases here run out in real time
