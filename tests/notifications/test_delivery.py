"""Outbox delivery: SMTP 4xx and timeouts retried with backoff, 5xx failed; offline .eml files."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests import factories
from tests.support.scheduler import T0, frozen
from tracker.extensions import db
from tracker.models import OutboxEmail
from tracker.notifications.delivery import deliver_due
from tracker.scheduling.claims import claim
from tracker.services.messaging.outbox import enqueue

pytestmark = pytest.mark.smtp


def _queue(key: str = "test:1") -> int:
    row = enqueue(key, "someone@example.com", "Hello", "plain body", "<p>html body</p>")
    db.session.commit()
    return row.id


@pytest.fixture
def smtp_app(make_app, smtp_server):
    return make_app(**smtp_server.config())


def test_smtp_4xx_is_retried_with_backoff_then_delivered(smtp_app, smtp_server):
    with smtp_app.app_context():
        clock = frozen(smtp_app)
        row_id = _queue()
        smtp_server.fail_next(451, "4.3.0 try again later")
        assert deliver_due(clock()) == 0
        row = db.session.get(OutboxEmail, row_id)
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.last_reply.startswith("451") and row.next_attempt_at == T0 + timedelta(minutes=1)
        assert deliver_due(clock()) == 0  # not before the backoff
        clock.advance(minutes=1)
        assert deliver_due(clock()) == 1
        db.session.expire_all()
        row = db.session.get(OutboxEmail, row_id)
        assert (row.status, row.attempts) == ("sent", 2)
    assert len(smtp_server.messages) == 1


def test_smtp_5xx_fails_and_is_not_retried(smtp_app, smtp_server):
    with smtp_app.app_context():
        clock = frozen(smtp_app)
        row_id = _queue()
        smtp_server.fail_next(550, "5.1.1 no such user")
        deliver_due(clock())
        clock.advance(days=1)
        deliver_due(clock())
        row = db.session.get(OutboxEmail, row_id)
        assert (row.status, row.attempts) == ("failed", 1)
        assert row.last_reply == "550 5.1.1 no such user"
    assert smtp_server.messages == []


def test_unreachable_smtp_server_is_a_temporary_failure(make_app):
    app = make_app(SMTP_HOST="127.0.0.1", SMTP_PORT=1, SMTP_SECURITY="none", SMTP_TIMEOUT=2)
    with app.app_context():
        clock = frozen(app)
        row_id = _queue()
        deliver_due(clock())
        row = db.session.get(OutboxEmail, row_id)
        assert row.status == "pending" and row.attempts == 1
        # Said in words (issue 32), and the step's breaker is open with the same reason.
        assert row.last_reply == "connection refused (127.0.0.1:1)"


def test_without_smtp_messages_are_written_as_eml_files(app, ctx, tmp_path):
    clock = frozen(app)
    row_id = _queue("offline:1")
    assert deliver_due(clock()) == 1
    [path] = (tmp_path / "mail").glob("*.eml")
    content = path.read_text()
    row = db.session.get(OutboxEmail, row_id)
    assert f"Message-ID: {row.message_id}" in content and "multipart/alternative" in content
    assert row.status == "sent" and path.name in row.last_reply


def test_a_claimed_row_is_left_alone_until_its_lease_expires(smtp_app, smtp_server):
    with smtp_app.app_context():
        clock = frozen(smtp_app)
        _queue()
        worker, ids = claim(OutboxEmail, OutboxEmail.next_attempt_at, clock())  # then "crash"
        assert len(ids) == 1
        assert deliver_due(clock.advance(minutes=4)) == 0
        assert deliver_due(clock.advance(minutes=2)) == 1
    assert len(smtp_server.messages) == 1


def test_admin_outbox_page_lists_rows_with_status_and_last_reply(app, client, auth):
    with app.app_context():
        frozen(app)
        factories.make_user("admin", email="root@example.com")
        row = enqueue("page:1", "x@example.com", "Milestone due", "body")
        row.status, row.attempts, row.last_reply = "failed", 1, "550 5.1.1 no such user"
        db.session.commit()
        row_id = row.id
    auth.login("root@example.com")
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "Milestone due" in page and "550 5.1.1 no such user" in page
    detail = client.get(f"/admin/outbox/{row_id}")
    assert detail.status_code == 200 and "x@example.com" in detail.get_data(as_text=True)
    assert client.get("/admin/outbox/999999").status_code == 404
    assert client.get("/admin/outbox?status=bogus").status_code == 400


@pytest.mark.parametrize("role", ["manager", "provider", "stakeholder"])
def test_outbox_page_does_not_exist_for_anyone_but_an_admin(app, client, auth, role):
    with app.app_context():
        user = factories.make_user(role)
        email = user.email
    auth.login(email)
    assert client.get("/admin/outbox").status_code == 404


def test_outbox_page_needs_a_signed_in_user(client):
    response = client.get("/admin/outbox")
    assert response.status_code in (302, 401)


def test_enqueue_twice_with_one_key_queues_one_email(app, ctx):
    frozen(app)
    assert enqueue("dup:1", "a@example.com", "s", "t") is not None
    db.session.commit()
    assert enqueue("dup:1", "a@example.com", "s", "t") is None
    db.session.commit()
    assert len(db.session.scalars(select(OutboxEmail)).all()) == 1
