"""Webhook endpoints under faults (issue 32, ADR 0204): an endpoint that accepts the
connection and never answers costs one timeout, rests with a growing delay, and never
holds up the deliveries to other endpoints."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.support.scheduler import T0, frozen
from tests.support.smtp import HungServer
from tests.support.webhooks import Receiver, queue_deliveries
from tracker.extensions import db
from tracker.models import WebhookDelivery, WebhookEndpoint
from tracker.notifications import circuits
from tracker.notifications.webhook_delivery import deliver_due

# On PostgreSQL too (ADR 0216): the circuit row is an upsert (ON CONFLICT DO UPDATE).
pytestmark = pytest.mark.postgres


def _by_endpoint() -> dict[str, list[tuple]]:
    """Per endpoint URL, each delivery's (status, attempts, claimed_by, next attempt, error)."""
    db.session.expire_all()
    rows = db.session.execute(
        select(WebhookEndpoint.url, WebhookDelivery)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .order_by(WebhookDelivery.id)
    ).all()
    found: dict[str, list[tuple]] = {}
    for url, r in rows:
        values = (r.status, r.attempts, r.claimed_by, r.next_attempt_at, r.last_error)
        found.setdefault(url, []).append(values)
    return found


def test_a_hung_endpoint_rests_and_the_others_are_delivered(make_app):
    hung, healthy = HungServer(), Receiver()
    hung_url = f"http://{hung.host}:{hung.port}/hook"
    app = make_app(WEBHOOK_ALLOW_PRIVATE_TARGETS=True, WEBHOOK_TIMEOUT=1)
    try:
        with app.app_context():
            clock = frozen(app)
            queue_deliveries(hung_url, 6)  # due first
            queue_deliveries(healthy.url, 6)
            started = time.monotonic()
            assert deliver_due(clock()) == 6
            took = time.monotonic() - started
            rows = _by_endpoint()
            [circuit] = circuits.open_ones("webhook:")
            # the next run, at once: the hung endpoint is not tried again
            assert deliver_due(clock()) == 0
            connections = hung.connections
            # once the rest is over: one probe, still hung, twice as long
            clock.advance(seconds=30)
            assert deliver_due(clock()) == 0
            [again] = circuits.open_ones("webhook:")
            after = _by_endpoint()[hung_url]
    finally:
        hung.stop()
        healthy.stop()
    assert took < 3, took  # one 1 s timeout, not six
    assert len(healthy.requests) == 6
    assert {row[0] for row in rows[healthy.url]} == {"delivered"}
    tried, *rested = rows[hung_url]
    assert (tried[0], tried[1], tried[4]) == ("pending", 1, "timed out after 1 s")
    assert {r[:3] for r in rested} == {("pending", 0, None)}  # not charged
    assert {r[3] for r in rested} == {T0 + timedelta(seconds=30)}  # due when it reopens
    assert circuit.reason == "endpoint timed out after 1 s" and circuit.trips == 1
    assert connections == 1 and hung.connections == 2
    assert again.trips == 2 and again.open_until == T0 + timedelta(seconds=30 + 60)
    assert sorted(r[1] for r in after) == [0, 0, 0, 0, 1, 1]


def test_the_probe_that_gets_an_answer_closes_the_endpoints_breaker(make_app):
    healthy = Receiver()
    app = make_app(WEBHOOK_ALLOW_PRIVATE_TARGETS=True)
    try:
        with app.app_context():
            clock = frozen(app)
            queue_deliveries(healthy.url, 3)
            endpoint_id = db.session.scalar(select(WebhookEndpoint.id))
            circuits.trip(circuits.webhook(endpoint_id), "endpoint connection refused")
            assert deliver_due(clock()) == 0 and healthy.requests == []
            clock.advance(seconds=31)
            assert deliver_due(clock()) == 3
            assert circuits.open_ones("webhook:") == []
    finally:
        healthy.stop()
