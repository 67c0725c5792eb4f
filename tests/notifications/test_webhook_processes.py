"""Two real `flask scheduler run` processes on PostgreSQL deliver 1,000 webhooks: none lost,
none twice."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from tests.factories import make_user
from tests.support.processes import Schedulers, scheduler_env, wait_until
from tests.support.webhooks import Receiver
from tracker.extensions import db
from tracker.models import WebhookDelivery, WebhookEvent
from tracker.services import webhooks

EVENTS = 1000


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


def _queue(url: str, count: int) -> dict[int, str]:
    """`count` due deliveries to one endpoint, event data {"n": n}; returns n → webhook-id."""
    admin = make_user("admin")
    endpoint = webhooks.create_endpoint(admin, {"url": url, "events": ["engagement.created"]})
    connection = db.session.connection()
    for n in range(count):
        webhooks._write(connection, "engagement.created", {"n": n}, None, [endpoint.id])
    db.session.commit()
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
