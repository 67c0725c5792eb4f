"""One delivery step over several SMTP connections at once (ADR 0248).

Against a real aiosmtpd server (tests/support/smtp.py): a backlog shared by two senders
goes out once each, every outcome recorded; a server that stops answering while both
senders have a message in flight trips the breaker once, charges each in-flight message
once, releases the rest uncharged, and both senders' failures are counted in the step.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.pool import StaticPool

from tracker.core import clock, failures
from tracker.extensions import db
from tracker.models import DeliveryCircuit, OutboxEmail
from tracker.notifications import delivery
from tracker.notifications.delivery import deliver_due
from tracker.services.messaging.outbox import enqueue

# On PostgreSQL too (ADR 0216): the senders' claims are SKIP LOCKED there.
pytestmark = [pytest.mark.smtp, pytest.mark.postgres]


def _queue(count: int) -> list[int]:
    rows = [enqueue(f"conn:{n}", f"u{n}@example.com", f"Subject {n}", "body") for n in range(count)]
    db.session.commit()
    return [row.id for row in rows]


def _rows() -> list[OutboxEmail]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxEmail).order_by(OutboxEmail.id)))


def test_two_connections_share_a_backlog_and_send_each_row_once(make_app, smtp_server):
    app = make_app(**smtp_server.config(), MAIL_BATCH=20, MAIL_CONNECTIONS=2)
    smtp_server.slow(0.002)  # each sender waits on the server, so both get batches
    with app.app_context():
        _queue(200)
        assert deliver_due(clock.now()) == 200
        rows = _rows()
        assert {(r.status, r.attempts, r.lease_until) for r in rows} == {("sent", 1, None)}
        by_worker = Counter(r.claimed_by for r in rows)
        expected_ids = {r.message_id for r in rows}
    assert len(by_worker) == 2 and min(by_worker.values()) >= 20  # two senders, each batches
    assert smtp_server.connections == 2
    accepted = smtp_server.message_ids()
    assert len(accepted) == 200 and set(accepted) == expected_ids  # each row once


def test_a_second_sender_starts_only_once_the_first_batch_went_through(make_app, smtp_server):
    # Three rows, batches of five: the first claim takes the one message that measures the
    # pace, the second the two left and comes back short: no further sender is started.
    app = make_app(**smtp_server.config(), MAIL_BATCH=5, MAIL_CONNECTIONS=3)
    with app.app_context():
        _queue(3)
        assert deliver_due(clock.now()) == 3
        assert {r.status for r in _rows()} == {"sent"}
    assert len(smtp_server.message_ids()) == 3
    assert smtp_server.connections == 1


def test_a_server_that_stops_answering_trips_the_breaker_once_for_both_senders(
    make_app, smtp_server
):
    settings = dict(smtp_server.config(), SMTP_TIMEOUT=1)
    app = make_app(**settings, MAIL_BATCH=10, MAIL_CONNECTIONS=2)
    smtp_server.slow(0.005)
    with app.app_context():
        _queue(400)

        def hang_after_some():  # the server stops answering DATA in the middle of the run
            deadline = time.monotonic() + 20
            while len(smtp_server.message_ids()) < 40 and time.monotonic() < deadline:
                time.sleep(0.005)
            smtp_server.slow(3)

        watcher = threading.Thread(target=hang_after_some)
        watcher.start()
        with failures.collect() as seen:
            sent = deliver_due(clock.now())
        watcher.join()
        rows = _rows()
        circuit = db.session.scalar(select(DeliveryCircuit))
    charged = [r for r in rows if r.status == "pending" and r.attempts == 1]
    untouched = [r for r in rows if r.status == "pending" and r.attempts == 0]
    assert len({r.claimed_by for r in rows if r.status == "sent"}) == 2  # both were sending
    assert circuit is not None and circuit.trips == 1  # tripped once, not once a sender
    assert "timed out after 1 s" in circuit.reason
    # Each sender had one message in flight when the server stopped answering: each is
    # charged one attempt and counted in the step; nothing else is charged or held.
    assert len(charged) == 2
    assert seen.count == 2
    assert all(r.last_reply.startswith("timed out after 1 s") for r in charged)
    assert sent == sum(r.status == "sent" for r in rows) >= 40
    assert len(untouched) == 400 - sent - 2
    assert all(r.lease_until is None for r in untouched)  # released at once


def test_one_connection_on_a_database_of_one_shared_connection(make_app, smtp_server):
    app = make_app(**smtp_server.config(), MAIL_CONNECTIONS=4)
    with app.app_context():
        pool = db.engine.pool
        assert delivery._connections(app.config) == (1 if isinstance(pool, StaticPool) else 4)
        assert delivery._connections(dict(app.config, SMTP_HOST="")) == 1  # files: one writer


def test_failures_absorbed_from_a_helper_are_counted_in_the_running_step():
    with failures.collect() as helper:
        for n in range(7):
            failures.record("email", n, "why")
    with failures.collect() as step:
        failures.record("email", 99, "first")
        failures.absorb(helper)
    assert step.count == 8
    assert len(step.reasons) == failures.Failures.KEEP
    assert step.reasons[0] == "email 99: first"


def test_senders_together_leave_no_more_unrecorded_than_one_sender_did():
    # ADR 0205's bound per process: GROUP outcomes waiting plus the message in flight.
    Recorder = delivery.Recorder
    assert [Recorder.share(k) for k in (1, 2, 3, 4, 5, 9)] == [8, 3, 2, 1, 1, 1]
    for senders in (1, 2, 3, 4):
        assert senders * (Recorder.share(senders) + 1) <= Recorder.GROUP + 1


def test_each_sender_records_its_outcomes_in_its_share_of_the_group(make_app, smtp_server):
    app = make_app(**smtp_server.config(), MAIL_BATCH=30, MAIL_CONNECTIONS=3)
    writes: list[int] = []
    original = delivery._write_outcomes

    def counting(rows, worker, conn):
        writes.append(len(rows))
        original(rows, worker, conn)

    with app.app_context():
        _queue(150)
        delivery._write_outcomes = counting
        try:
            assert deliver_due(clock.now()) == 150
        finally:
            delivery._write_outcomes = original
        assert {r.status for r in _rows()} == {"sent"}
    assert sum(writes) == 150
    assert max(writes) == delivery.Recorder.share(3) == 2


def test_a_group_of_outcomes_is_one_statement_and_one_round_trip(make_app, smtp_server):
    """Each group of outcomes is one statement on the recorder's own connection: an
    executemany of the Core UPDATE on SQLite; on PostgreSQL one UPDATE ... FROM (VALUES
    ...) of the whole group on a connection that autocommits, so no BEGIN or COMMIT goes
    to the server (ADR 0254). Every outcome is still recorded exactly as before."""
    app = make_app(**smtp_server.config(), MAIL_BATCH=30, MAIL_CONNECTIONS=3)
    sizes: list[int] = []
    modes: set[object] = set()

    def note(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("UPDATE outbox_email SET status"):
            if executemany:
                sizes.append(len(parameters))
            elif "FROM (VALUES" in statement:  # six values an outcome, then the worker
                sizes.append((len(parameters) - 1) // 6)
            else:
                sizes.append(1)
            modes.add(getattr(conn.connection.driver_connection, "autocommit", None))

    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
        _queue(90)
        event.listen(db.engine, "before_cursor_execute", note)
        try:
            assert deliver_due(clock.now()) == 90
        finally:
            event.remove(db.engine, "before_cursor_execute", note)
        rows = _rows()
    assert {(r.status, r.attempts, r.lease_until, r.last_reply) for r in rows} == {
        ("sent", 1, None, "250 accepted")
    }
    assert all(r.sent_at is not None for r in rows)
    assert sum(sizes) == 90
    assert max(sizes) <= delivery.Recorder.GROUP
    if postgres:
        assert modes == {True}  # psycopg's autocommit on every outcomes connection


def test_the_senders_together_hold_at_most_one_batch(make_app, smtp_server):
    # ADR 0160's bound per process: a killed one leaves at most MAIL_BATCH rows leased.
    app = make_app(**smtp_server.config(), MAIL_BATCH=30, MAIL_CONNECTIONS=3)
    smtp_server.slow(0.003)
    held: list[int] = []
    done = threading.Event()
    leased = select(func.count()).where(
        OutboxEmail.status == "pending", OutboxEmail.lease_until.is_not(None)
    )

    def watch():
        with app.app_context():
            while not done.is_set():
                with db.engine.connect() as conn:
                    held.append(conn.scalar(leased))
                time.sleep(0.002)

    with app.app_context():
        _queue(240)
        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            assert deliver_due(clock.now()) == 240
        finally:
            done.set()
            watcher.join()
        workers = {r.claimed_by for r in _rows()}
    assert len(workers) == 3  # all three senders took part
    assert len(held) > 20 and max(held) <= 30
    assert max(held) > 10  # (a sample did see the senders' claims)
