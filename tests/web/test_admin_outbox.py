"""The admin Outbox page's retry button: requeues failed emails; admins only (404 to anyone
else); bad input is a 400."""

from __future__ import annotations

from sqlalchemy import select

from tests import factories
from tests.support.scheduler import T0, frozen
from tracker.extensions import db
from tracker.models import OutboxEmail
from tracker.services.messaging.outbox import enqueue


def _failed_rows(app) -> None:
    with app.app_context():
        frozen(app)
        factories.make_user("admin", email="root@example.com")
        factories.make_user("manager", email="boss@example.com")
        for key, category in (("r", "reminder"), ("d", "digest")):
            row = enqueue(key, f"{key}@example.com", key, "body", category=category)
            row.status, row.attempts, row.failed_at, row.last_reply = "failed", 2, T0, "550 no"
        db.session.commit()


def _statuses(app) -> dict[str, str]:
    with app.app_context():
        return dict(db.session.execute(select(OutboxEmail.key, OutboxEmail.status)).tuples().all())


def test_admin_retries_failed_emails_from_the_outbox_page(app, client, auth):
    _failed_rows(app)
    auth.login("root@example.com")
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "Retry 2 failed emails" in page
    token = auth.csrf()
    refused = client.post("/admin/outbox/retry", data={"csrf_token": token, "category": "nope"})
    assert refused.status_code == 400 and _statuses(app) == {"r": "failed", "d": "failed"}
    one = client.post("/admin/outbox/retry", data={"csrf_token": token, "category": "digest"})
    assert one.status_code == 302 and _statuses(app) == {"r": "failed", "d": "pending"}
    done = client.post("/admin/outbox/retry", data={"csrf_token": token}, follow_redirects=True)
    assert "Requeued 1 failed email." in done.get_data(as_text=True)
    assert _statuses(app) == {"r": "pending", "d": "pending"}
    assert "Retry" not in client.get("/admin/outbox").get_data(as_text=True)


def test_retry_does_not_exist_for_anyone_but_an_admin(app, client, auth):
    _failed_rows(app)
    auth.login("boss@example.com")
    response = client.post("/admin/outbox/retry", data={"csrf_token": auth.csrf()})
    assert response.status_code == 404 and _statuses(app) == {"r": "failed", "d": "failed"}
