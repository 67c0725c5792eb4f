"""Real `flask scheduler run` processes on PostgreSQL delivering webhooks: two share 1,000
exactly once, and one SIGKILLed mid-batch loses nothing and resends only what it held."""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict

import pytest
from sqlalchemy import func, select

from tests.support.processes import Schedulers, scheduler_env, wait_until
from tests.support.webhooks import Receiver, queue_deliveries
from tracker.extensions import db
from tracker.models import WebhookDelivery, WebhookEvent

EVENTS = 1000


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


def _queue(url: str, count: int) -> dict[int, str]:
    """`count` due deliveries to one endpoint, event data {"n": n}; returns n → webhook-id."""
    queue_deliveries(url, count)
    rows = db.session.execute(
        select(WebhookEvent.payload, WebhookDelivery.message_id).join(
            WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id
        )
    ).all()
    return {payload["data"]["n"]: message_id for payload, message_id in rows}


def _delivered() -> int:
    return db.session.scalar(select(func.count()).where(WebhookDelivery.status == "delivered"))


@pytest.mark.slow
@pytest.mark.postgres
def test_two_schedulers_deliver_a_thousand_events_exactly_once(pg_app, receiver, tmp_path):
    pg_app.config.update(WEBHOOK_ALLOW_PRIVATE_TARGETS=True)
    with pg_app.app_context():
        _queue(receiver.url, EVENTS)
    env = scheduler_env(pg_app, WEBHOOK_ALLOW_PRIVATE_TARGETS="1")
    with Schedulers(env, tmp_path, "hooks") as schedulers:
        for _ in range(2):
            schedulers.start()
        assert wait_until(lambda: len(receiver.requests) >= EVENTS), len(receiver.requests)
        time.sleep(2)  # a duplicate would arrive now
    ids = receiver.ids()
    assert len(ids) == EVENTS and len(set(ids)) == EVENTS
    assert schedulers.codes == [0, 0]
    with pg_app.app_context():
        assert _delivered() == EVENTS
        workers = db.session.scalars(select(WebhookDelivery.claimed_by).distinct()).all()
    assert len(workers) >= 1, workers


KILLED = 3000  # about 15 s of delivery for two workers, at 5 ms a request
BATCH = 50


@pytest.mark.slow
@pytest.mark.postgres
def test_a_scheduler_killed_mid_batch_loses_no_webhook_and_resends_only_its_uncommitted_rows(
    pg_app, receiver, tmp_path
):
    # Two `flask scheduler run` on PostgreSQL share 3,000 due deliveries. One is SIGKILLed
    # while it holds a batch, then started again. Nothing may be lost, and the only
    # requests sent twice are rows the dead worker held uncommitted, each resent with the
    # same `webhook-id` and body, so the receiver can de-duplicate (ADR 0167's bound, at
    # most WEBHOOK_BATCH per kill).
    pg_app.config.update(WEBHOOK_ALLOW_PRIVATE_TARGETS=True)
    with pg_app.app_context():
        expected = _queue(receiver.url, KILLED)
    receiver.delay = 0.005  # a batch of 50 takes at least 0.25 s: the kill lands inside one
    env = scheduler_env(
        pg_app,
        WEBHOOK_ALLOW_PRIVATE_TARGETS="1",
        WEBHOOK_BATCH=BATCH,
        WEBHOOK_LEASE_SECONDS=3,
        SCHEDULER_DELIVERY_SECONDS=1,
    )
    with Schedulers(env, tmp_path, "hooks") as schedulers:
        for _ in range(2):
            schedulers.start()
        assert wait_until(lambda: len(receiver.requests) >= KILLED // 3, 120)
        # Each killed process is replaced at once; its rows wait for their lease (3 s).
        uncommitted = schedulers.kill_until_one_dies_holding(pg_app, WebhookDelivery)
        time.sleep(0.5)  # its last request is read; its lease (renewed every 1 s) outlasts this
        sent_before_the_kill = len(receiver.requests)
        sent_uncommitted = set(uncommitted.values()) & set(receiver.ids())
        everything = set(expected.values())
        assert wait_until(lambda: set(receiver.ids()) >= everything, 120), len(
            everything - set(receiver.ids())
        )
        time.sleep(2)  # a stray duplicate would arrive now
    by_row: dict[int, list[dict]] = defaultdict(list)  # event data n → its requests
    for request in receiver.requests:
        by_row[json.loads(request["body"])["data"]["n"]].append(request)
    counts = Counter(receiver.ids())
    twice = {webhook_id for webhook_id, n in counts.items() if n > 1}
    assert set(by_row) == set(expected) and set(counts) == everything  # nothing lost
    for n, requests in by_row.items():  # a resend is the same message: id and bytes
        assert {r["headers"]["webhook-id"] for r in requests} == {expected[n]}
        assert len({r["body"] for r in requests}) == 1
    assert max(counts.values()) <= 2
    assert twice <= set(uncommitted.values()), "a row the dead worker did not hold was resent"
    assert twice == sent_uncommitted  # every row it had sent, and only those, went twice
    assert len(twice) <= BATCH  # at most one batch per kill
    assert 0 < len(uncommitted) <= BATCH and sent_before_the_kill < KILLED
    assert sorted(schedulers.codes)[-2:] == [0, 0]  # the survivors stop cleanly
    with pg_app.app_context():
        assert _delivered() == KILLED
        assert (
            db.session.scalar(select(func.count()).where(WebhookDelivery.status != "delivered"))
            == 0
        )
