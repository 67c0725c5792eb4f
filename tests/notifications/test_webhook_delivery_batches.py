"""Batched webhook delivery (ADR 0167): kept-alive connections, one commit per batch,
renewed leases, per-row outcomes in the middle of a batch, a clean stop.

Against the real HTTP receiver of tests/support/webhooks.py, which counts the TCP
connections it accepts and misbehaves on cue.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from tests.factories import make_user
from tests.support.webhooks import Receiver, queue_deliveries
from tracker.core import clock, failures
from tracker.extensions import db
from tracker.models import OutboxEmail, WebhookDelivery, WebhookEndpoint
from tracker.notifications import webhook_delivery
from tracker.notifications.webhook_delivery import Connections, deliver_due, lease_for
from tracker.scheduling import claims
from tracker.services.messaging import webhooks

# On PostgreSQL too (ADR 0216): claims and leases: SKIP LOCKED on PostgreSQL.
pytestmark = pytest.mark.postgres


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


def _queue(url: str, count: int) -> list[int]:
    """`count` due deliveries to one endpoint at `url`, oldest first; returns their ids."""
    queue_deliveries(url, count)
    return list(db.session.scalars(select(WebhookDelivery.id).order_by(WebhookDelivery.id)))


def _rows() -> list[WebhookDelivery]:
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def _pending() -> int:
    pending = select(func.count()).where(WebhookDelivery.status == "pending")
    return db.session.scalar(pending)


@contextmanager
def _commits():
    """Every COMMIT on the app's engine (the claims' own connections included)."""
    seen: list[int] = []

    def count(_connection):
        seen.append(1)

    event.listen(db.engine, "commit", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "commit", count)


def test_a_batch_goes_over_one_connection_and_is_recorded_with_one_commit(make_app, receiver):
    app = make_app(WEBHOOK_ALLOW_PRIVATE_TARGETS=True, WEBHOOK_BATCH=10)
    with app.app_context():
        _queue(receiver.url, 30)
        with _commits() as commits:
            assert deliver_due(clock.now()) == 30
        rows = _rows()
        dialect = db.engine.dialect.name
    assert {(r.status, r.attempts, r.lease_until, r.response_status) for r in rows} == {
        ("delivered", 1, None, 200)
    }
    # Three batches of 10 and a last, empty claim: 3 claim commits, 3 outcome commits
    # (row by row it was 30 outcome commits), and the empty claim's: on SQLite it looks
    # before it locks and commits nothing.
    empty_claim = 0 if dialect == "sqlite" else 1
    assert len(commits) == 3 + 3 + empty_claim
    assert receiver.connections == 1  # kept alive across the batches of the step
    assert sorted(receiver.ids()) == sorted(r.message_id for r in rows)


def test_interleaved_deliveries_to_two_hosts_keep_one_connection_each(make_app, receiver):
    other = Receiver()
    try:
        app = make_app(WEBHOOK_ALLOW_PRIVATE_TARGETS=True)
        with app.app_context():
            admin = make_user("admin")
            hooks = [
                webhooks.create_endpoint(admin, {"url": url, "events": ["engagement.created"]})
                for url in (receiver.url, other.url)
            ]
            connection = db.session.connection()
            for n in range(10):  # each event owed to both: the batch alternates hosts
                webhooks._write(
                    connection, "engagement.created", {"n": n}, None, [h.id for h in hooks]
                )
            db.session.commit()
            assert deliver_due(clock.now()) == 20
    finally:
        other.stop()
    assert (len(receiver.requests), len(other.requests)) == (10, 10)
    assert (receiver.connections, other.connections) == (1, 1)


def test_500_429_410_and_drops_are_per_row_and_the_rest_is_delivered(make_app, receiver):
    # (A timeout is the endpoint's failure, not the row's: it rests the endpoint, see
    # tests/notifications/test_webhook_delivery_faults.py, ADR 0204.)
    app = make_app(WEBHOOK_ALLOW_PRIVATE_TARGETS=True, WEBHOOK_TIMEOUT=0.5)
    # d0..d9 in order; d0's drop is on a fresh connection, so it is left for later; d8's
    # drop is on a reused connection, so it is sent again at once (the last 200 serves
    # that retry and d9).
    receiver.script = ["drop", 200, 500, 200, 429, 200, 410, 200, "drop", 200]
    with app.app_context():
        ids = _queue(receiver.url, 10)
        started = clock.now()
        with failures.collect() as failed, _commits() as commits:
            assert deliver_due(started) == 6
        rows = {row.id: row for row in _rows()}
    d = [rows[row_id] for row_id in ids]
    assert [row.status for row in d] == [
        "pending", "delivered", "pending", "delivered", "pending", "delivered", "failed",
        "delivered", "delivered", "delivered",
    ]  # fmt: skip
    assert [row.response_status for row in d[1:7]] == [200, 500, 200, 429, 200, 410]
    assert "RemoteDisconnected" in d[0].last_error and d[0].response_status is None
    assert all(row.attempts == 1 and row.lease_until is None for row in d)
    for retried in (d[0], d[2], d[4]):
        assert retried.next_attempt_at > started and retried.delivered_at is None
    assert failed.count == 4  # the drop on a fresh connection, 500, 429, 410
    assert failed.reasons[1].endswith("HTTP 500 (retried later)")
    assert failed.reasons[3].endswith("HTTP 410 (given up)")
    assert len(commits) == 2  # the claim and the batch's outcomes
    counts = Counter(receiver.ids())
    assert counts[d[8].message_id] == 2  # the drop's immediate retry: same webhook-id
    assert all(counts[row.message_id] == 1 for row in d if row is not d[8])
    # one dropped at once, one until the drop after reuse, the last
    assert receiver.connections == 3


def test_a_huge_reply_closes_the_connection_and_the_next_delivery_opens_one(make_app, receiver):
    app = make_app(WEBHOOK_ALLOW_PRIVATE_TARGETS=True)
    receiver.script = [200, "huge", 200]
    with app.app_context():
        _queue(receiver.url, 4)
        assert deliver_due(clock.now()) == 4
        excerpts = [len(row.response_excerpt) for row in _rows()]
    assert excerpts == [2, webhook_delivery.EXCERPT_BYTES, 2, 2]
    assert receiver.connections == 2


def test_a_failure_streak_within_a_batch_is_judged_row_by_row(make_app, receiver):
    app = make_app(WEBHOOK_ALLOW_PRIVATE_TARGETS=True)
    receiver.script = [503]
    with app.app_context():
        ids = _queue(receiver.url, 3)
        endpoint = db.session.scalars(select(WebhookEndpoint)).one()
        endpoint.failing_since = clock.now() - timedelta(days=4)
        db.session.commit()
        deliver_due(clock.now())
        rows = _rows()
        endpoint = db.session.get(WebhookEndpoint, endpoint.id)
        assert endpoint.is_enabled is False
        mails = db.session.scalars(select(OutboxEmail)).all()
    # the first row's 503 ends three days of failures: the endpoint is disabled, its
    # admin mailed once, and the batch's later rows are not sent
    assert len(receiver.requests) == 1 and len(mails) == 1
    assert [(r.id, r.status) for r in rows] == [
        (ids[0], "pending"), (ids[1], "failed"), (ids[2], "failed")
    ]  # fmt: skip
    assert rows[1].last_error == rows[2].last_error == "endpoint disabled"


def test_a_success_within_a_batch_ends_the_streak_for_the_rows_after_it(make_app, receiver):
    app = make_app(WEBHOOK_ALLOW_PRIVATE_TARGETS=True)
    receiver.script = [200, 503]
    with app.app_context():
        _queue(receiver.url, 3)
        endpoint = db.session.scalars(select(WebhookEndpoint)).one()
        endpoint.failing_since = clock.now() - timedelta(days=4)
        db.session.commit()
        started = clock.now()
        assert deliver_due(started) == 1
        endpoint = db.session.get(WebhookEndpoint, endpoint.id)
        assert endpoint.is_enabled is True
        assert webhooks._aware(endpoint.failing_since) >= started  # a new streak, from now
        assert [r.status for r in _rows()] == ["delivered", "pending", "pending"]
    assert len(receiver.requests) == 3


def test_a_connection_to_a_private_peer_is_refused_before_the_request(make_app, receiver):
    # check_target passed (say, DNS answered a public address) but the socket reached a
    # private one: nothing is sent, and the attempt is a refusal (failed at once).
    app = make_app()
    with app.app_context():
        connections = Connections(1.0, allow_private=False)
        outcome = connections.post(receiver.url, {"webhook-id": "x"}, b"{}")
        connections.close()
    assert outcome.error.startswith("refused: ") and "127.0.0.1" in outcome.error
    assert connections.opened == 1 and connections.open == {}
    assert receiver.requests == []


@pytest.mark.slow
def test_slow_receiver_two_schedulers_and_a_short_lease_deliver_each_once(pg_app, receiver):
    # 0.3 s per request, batches of 50 (15 s) and a 6 s lease: the second worker's
    # batch of 25 is done after 7.5 s and it keeps claiming, so without the heartbeat (or
    # renewing only the unsent rows) it would take over the first worker's rows.
    app = pg_app
    app.config.update(
        WEBHOOK_ALLOW_PRIVATE_TARGETS=True,
        WEBHOOK_TIMEOUT=2,
        WEBHOOK_BATCH=50,
        WEBHOOK_LEASE_SECONDS=6,
    )
    assert lease_for(app.config).total_seconds() == 6
    receiver.delay = 0.3
    with app.app_context():
        _queue(receiver.url, 75)
    errors: list[BaseException] = []
    delivered: list[int] = []

    deadline = time.monotonic() + 90  # a worker fighting over rows must not hang the suite

    def worker():
        try:
            with app.app_context():
                while _pending() and time.monotonic() < deadline:
                    delivered.append(deliver_due(clock.now()))
                    time.sleep(0.05)  # poll, not spin, while the other worker holds rows
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    counts = Counter(receiver.ids())
    assert len(counts) == 75 and max(counts.values()) == 1, counts.most_common(3)
    assert sum(delivered) == 75
    with app.app_context():
        assert {r.status for r in _rows()} == {"delivered"}


def test_a_clean_stop_records_what_was_sent_and_releases_the_rest(make_app, receiver):
    app = make_app(WEBHOOK_ALLOW_PRIVATE_TARGETS=True, WEBHOOK_BATCH=20)
    receiver.delay = 0.2  # 20 requests take 4 s: the stop lands well inside the batch

    def stop_after_the_first_request():  # SIGTERM's effect, once delivery is under way
        deadline = time.monotonic() + 60
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        claims.stopping.set()

    with app.app_context():
        _queue(receiver.url, 20)
        stopper = threading.Thread(target=stop_after_the_first_request)
        stopper.start()
        try:
            sent = deliver_due(clock.now())
        finally:
            stopper.join()
            claims.stopping.clear()
        assert 0 < sent < 20
        rows = _rows()
        assert sum(r.status == "delivered" for r in rows) == sent == len(receiver.requests)
        waiting = [r for r in rows if r.status == "pending"]
        assert waiting and all(r.claimed_by is None and r.lease_until is None for r in waiting)
        assert all(r.attempts == 0 for r in waiting)  # released untried, not failed
        receiver.delay = 0  # the pace only had to let the stop land inside the first batch
        assert deliver_due(clock.now()) == 20 - sent  # released at once, not after the lease
    counts = Counter(receiver.ids())
    assert len(counts) == 20 and max(counts.values()) == 1


def test_a_url_http_client_cannot_use_is_that_row_s_error_not_the_batch_s(make_app):
    app = make_app()
    with app.app_context():
        connections = Connections(1.0, allow_private=True)
        outcome = connections.post("http://127.0.0.1:99999/x", {}, b"{}")
    assert outcome.error.startswith("ValueError") and outcome.retryable
    assert connections.opened == 0
