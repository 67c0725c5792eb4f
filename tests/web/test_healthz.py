"""GET /healthz checks the database."""

from unittest import mock

import pytest
from sqlalchemy.exc import OperationalError

# On PostgreSQL too (ADR 0216): reports the database's dialect.
pytestmark = pytest.mark.postgres


def test_healthz_answers_ok_with_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["dialect"] in {"sqlite", "postgresql"}


def test_healthz_reports_503_when_database_fails(client):
    error = OperationalError("SELECT 1", {}, Exception("down"))
    with mock.patch("tracker.services.core.system.db.session.execute", side_effect=error):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unavailable"


def test_unknown_page_is_a_styled_404(client):
    response = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "We could not find that page" in response.get_data(as_text=True)


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"


@pytest.mark.fresh_app  # adds a route: needs an app that has served nothing yet
def test_unforeseen_constraint_violation_is_a_409_not_a_500(app, client):
    from sqlalchemy.exc import IntegrityError

    @app.get("/_boom")
    def boom():
        raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))

    response = client.get("/_boom", headers={"Accept": "application/json"})
    assert response.status_code == 409
    assert response.get_json()["code"] == "constraint_violation"


def test_healthz_reports_the_oldest_due_row_and_no_steps_before_any_tick(app, client):
    from datetime import timedelta

    from tests.support.scheduler import T0, frozen
    from tracker.extensions import db
    from tracker.services.messaging.outbox import enqueue

    with app.app_context():
        frozen(app)
        assert client.get("/healthz").get_json()["scheduler"] == {
            "steps": {},
            "oldest_due_seconds": None,
            "failed": {"outbox": 0, "timers": 0, "webhooks": 0},
            "circuits": {},  # no delivery breaker open
        }
        late = enqueue("late", "late@example.com", "Late", "body")
        late.next_attempt_at = T0 - timedelta(seconds=90)
        future = enqueue("future", "future@example.com", "Future", "body")
        future.next_attempt_at = T0 + timedelta(hours=1)
        db.session.commit()
        body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["scheduler"]["oldest_due_seconds"] == 90.0
