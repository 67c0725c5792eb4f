"""`flask outbox retry`: failed emails requeued, filtered by when they failed and category."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.support.scheduler import T0, frozen
from tracker.extensions import db
from tracker.models import OutboxEmail
from tracker.services.messaging.outbox import enqueue


def _failed(key: str, category: str, failed_at) -> None:
    row = enqueue(key, f"{key}@example.com", key, "body", category=category)
    row.status, row.attempts, row.failed_at, row.last_reply = "failed", 3, failed_at, "550 no"


def _world(app):
    with app.app_context():
        frozen(app, T0 + timedelta(days=1))
        _failed("old", "reminder", T0 - timedelta(days=2))
        _failed("new", "reminder", T0 + timedelta(hours=1))
        _failed("digest", "digest", T0 + timedelta(hours=2))
        sent = enqueue("sent", "sent@example.com", "sent", "body")
        sent.status = "sent"
        db.session.commit()


def _statuses(app) -> dict[str, tuple[str, int]]:
    with app.app_context():
        rows = db.session.execute(select(OutboxEmail.key, OutboxEmail.status, OutboxEmail.attempts))
        return {key: (status, attempts) for key, status, attempts in rows}


def test_retry_filters_by_failed_since_and_category(app):
    _world(app)
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["outbox", "retry", "--failed-since", T0.isoformat(), "--category", "reminder"]
    )
    assert result.exit_code == 0 and "requeued 1 failed email\n" in result.output
    assert _statuses(app) == {
        "old": ("failed", 3),
        "new": ("pending", 0),
        "digest": ("failed", 3),
        "sent": ("sent", 0),
    }
    with app.app_context():
        row = db.session.scalar(select(OutboxEmail).where(OutboxEmail.key == "new"))
        assert row.next_attempt_at == T0 + timedelta(days=1) and row.failed_at is None
    everything = runner.invoke(args=["outbox", "retry"])
    assert "requeued 2 failed emails" in everything.output
    assert {status for status, _ in _statuses(app).values()} == {"pending", "sent"}


def test_retry_refuses_a_bad_date_or_an_unknown_category_and_changes_nothing(app):
    _world(app)
    runner = app.test_cli_runner()
    bad_date = runner.invoke(args=["outbox", "retry", "--failed-since", "yesterday"])
    assert bad_date.exit_code == 2 and "--failed-since" in bad_date.output
    bad_category = runner.invoke(args=["outbox", "retry", "--category", "nope"])
    assert bad_category.exit_code == 2 and "no email has category 'nope'" in bad_category.output
    assert [s for s, _ in _statuses(app).values()].count("failed") == 3
