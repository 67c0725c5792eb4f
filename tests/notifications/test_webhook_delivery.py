"""Webhooks end to end: a real HTTP receiver on loopback, verified with `standardwebhooks`."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from tests.factories import add_milestone, make_engagement, make_user
from tests.support.webhooks import Receiver
from tracker.core import clock
from tracker.errors import ValidationFailed
from tracker.extensions import db
from tracker.models import Milestone, WebhookDelivery, WebhookEndpoint
from tracker.notifications import webhook_delivery
from tracker.services.messaging import webhooks


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def hook_app(make_app):
    return make_app(WEBHOOK_ALLOW_PRIVATE_TARGETS=True, WEBHOOK_TIMEOUT=0.5)


def _endpoint(url: str, events=("milestone.status_changed", "milestone.verdict_given")):
    admin = make_user("admin")
    return admin, webhooks.create_endpoint(admin, {"url": url, "events": list(events)})


def _deliver(at=None) -> int:
    return webhook_delivery.deliver_due(at or clock.now())


def test_event_is_signed_delivered_and_verified_by_the_reference_library(hook_app, receiver):
    with hook_app.app_context():
        _, endpoint = _endpoint(receiver.url)
        engagement = make_engagement(title="Fraud — Zürich")
        milestone = add_milestone(engagement)
        assert milestone.status == "planned"  # read, then written, as the services do
        milestone.status = "met"
        db.session.commit()
        assert _deliver() == 2
        secret = endpoint.secret
        statuses = db.session.scalars(select(WebhookDelivery.status)).all()
    assert statuses == ["delivered", "delivered"]
    verifier = Webhook(secret)
    bodies = [verifier.verify(r["body"], r["headers"]) for r in receiver.requests]
    assert {b["type"] for b in bodies} == {"milestone.status_changed", "milestone.verdict_given"}
    verdict = next(b for b in bodies if b["type"] == "milestone.verdict_given")
    assert verdict["data"]["verdict"] == "met" and verdict["version"] == 1
    assert "monthly_cost" not in json.dumps(bodies)
    tampered = dict(receiver.requests[0]["headers"])
    with pytest.raises(Exception):  # noqa: B017  (the library's own verification error)
        verifier.verify(receiver.requests[0]["body"] + b" ", tampered)


def test_500_and_timeout_are_retried_with_the_same_webhook_id(hook_app, receiver):
    receiver.script = [500, "hang", 200]
    with hook_app.app_context():
        _endpoint(receiver.url)
        milestone = add_milestone(make_engagement())
        assert milestone.status == "planned"
        milestone.status = "at_risk"
        db.session.commit()
        now = clock.now()
        assert _deliver(now) == 0
        row = db.session.scalars(select(WebhookDelivery)).one()
        assert (row.status, row.attempts, row.response_status) == ("pending", 1, 500)
        assert row.next_attempt_at > now
        assert _deliver(now) == 0  # not due yet: nothing sent
        assert _deliver(now + timedelta(minutes=2)) == 0  # the receiver hangs: a timeout
        db.session.refresh(row)
        assert row.attempts == 2 and "timed out" in (row.last_error or "").lower()
        assert _deliver(now + timedelta(minutes=10)) == 1
        db.session.refresh(row)
        assert row.status == "delivered" and row.attempts == 3
    ids = {r["headers"]["webhook-id"] for r in receiver.requests}
    assert len(receiver.requests) == 3 and len(ids) == 1


def test_4xx_fails_at_once_and_redeliver_sends_again(hook_app, receiver):
    receiver.script = [400, 200]
    with hook_app.app_context():
        admin, _ = _endpoint(receiver.url)
        milestone = add_milestone(make_engagement())
        assert milestone.status == "planned"
        milestone.status = "blocked"
        db.session.commit()
        _deliver()
        row = db.session.scalars(select(WebhookDelivery)).one()
        assert row.status == "failed" and row.response_excerpt == "ok"
        assert webhooks.redeliver(admin, row.id).status == "pending"
        assert _deliver() == 1
    assert (
        receiver.requests[0]["headers"]["webhook-id"]
        == receiver.requests[1]["headers"]["webhook-id"]
    )


def test_a_huge_reply_is_cut_and_nothing_breaks(hook_app, receiver):
    receiver.script = ["huge"]
    with hook_app.app_context():
        admin, endpoint = _endpoint(receiver.url)
        delivery = webhooks.send_test_event(admin, endpoint.id)
        assert _deliver() == 1
        db.session.refresh(delivery)
        assert len(delivery.response_excerpt) == webhook_delivery.EXCERPT_BYTES


def test_giving_up_after_a_day_and_disabling_a_dead_endpoint(hook_app, receiver):
    receiver.script = [503]
    with hook_app.app_context():
        admin, endpoint = _endpoint(receiver.url)
        webhooks.send_test_event(admin, endpoint.id)
        start = clock.now()
        _deliver(start)
        _deliver(start + timedelta(days=1, minutes=1))
        row = db.session.scalars(select(WebhookDelivery)).one()
        assert row.status == "failed" and row.attempts == 2
        webhooks.send_test_event(admin, endpoint.id)
        _deliver(start + timedelta(days=4))
        db.session.refresh(endpoint)
        assert endpoint.is_enabled is False and "failed" in endpoint.disabled_reason
        from tracker.models import OutboxEmail

        mail = db.session.scalars(select(OutboxEmail)).one()
        assert mail.to_address == admin.email and "disabled" in mail.subject


def test_rotation_signs_with_both_secrets(hook_app, receiver):
    with hook_app.app_context():
        admin, endpoint = _endpoint(receiver.url)
        old = endpoint.secret
        webhooks.rotate_secret(admin, endpoint.id)
        new = db.session.get(WebhookEndpoint, endpoint.id).secret
        webhooks.send_test_event(admin, endpoint.id)
        _deliver()
    request = receiver.requests[0]
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(request["body"], request["headers"])["type"] == "webhook.test"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost/x",
        "http://10.0.0.8/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
        "http://192.168.1.1/x",
        "ftp://example.com/x",
        "not a url",
    ],
)
def test_ssrf_targets_are_refused_at_registration(app, url):
    with app.app_context():
        admin = make_user("admin")
        with pytest.raises(ValidationFailed) as caught:
            webhooks.create_endpoint(admin, {"url": url, "events": ["engagement.created"]})
        assert "url" in caught.value.errors
        assert db.session.scalar(select(func.count(WebhookEndpoint.id))) == 0


def test_ssrf_is_checked_again_at_delivery(hook_app, receiver):
    with hook_app.app_context():
        admin, endpoint = _endpoint(receiver.url)
        webhooks.send_test_event(admin, endpoint.id)
        hook_app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = False
        _deliver()
        row = db.session.scalars(select(WebhookDelivery)).one()
    assert row.status == "failed" and row.last_error.startswith("refused")
    assert receiver.requests == []


def test_transition_events_are_written_in_the_transition_transaction(hook_app, receiver):
    from tests.factories import add_member, complete_checklist
    from tracker.services.workflow import transitions

    with hook_app.app_context():
        _endpoint(receiver.url, events=("engagement.transitioned",))
        engagement = make_engagement()
        complete_checklist(engagement, "prerequisite")
        add_member(engagement)
        complete_checklist(engagement, "placement")  # the access register lists the member
        add_milestone(engagement)
        transitions.fire(engagement.owner, engagement.id, "start_trial")
        assert _deliver() == 1
        assert db.session.scalar(select(func.count(Milestone.id))) >= 3
    body = json.loads(receiver.requests[0]["body"])
    assert body["type"] == "engagement.transitioned"
    assert body["data"]["from"] == "discovery" and body["data"]["event"] == "start_trial"
    assert body["data"]["actor"]["role"] == "manager"
