"""Two pipelines posting the same batch at once on PostgreSQL: no point is stored twice."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.factories import add_milestone, make_engagement, make_user
from tests.support.concurrency import run_at_once
from tracker.extensions import db
from tracker.models import Measurement, User
from tracker.services.evidence import measurements, metrics

pytestmark = pytest.mark.postgres
POSTERS = 2
POINTS = 200


def _setup(app):
    with app.app_context():
        manager = make_user("manager")
        engagement = make_engagement(manager)
        add_milestone(engagement)
        metric = metrics.create_metric(
            manager, engagement.id, {"name": "F1", "kind": "quality", "direction": "higher"}
        )
        return manager.id, engagement.id, metric.id


def _stored(app, engagement_id: int) -> int:
    with app.app_context():
        query = select(func.count()).where(Measurement.engagement_id == engagement_id)
        return db.session.scalar(query)


def test_the_same_batch_posted_twice_at_once_is_stored_once(pg_app):
    manager_id, engagement_id, metric_id = _setup(pg_app)
    items = [
        {"metric_id": metric_id, "value": 0.8 + i / 10_000, "idempotency_key": f"eval-{i}"}
        for i in range(POINTS)
    ]

    def post(index: int) -> dict:
        actor = db.session.get(User, manager_id)
        return measurements.record_batch(actor, engagement_id, [dict(i) for i in items])

    results = run_at_once(pg_app, post, POSTERS, timeout=120)
    assert all(isinstance(r, dict) for r in results), results
    assert sum(r["recorded"] for r in results) == POINTS
    assert sum(r["replayed"] for r in results) == POINTS
    assert _stored(pg_app, engagement_id) == POINTS


def test_different_batches_posted_at_once_both_land(pg_app):
    manager_id, engagement_id, metric_id = _setup(pg_app)

    def post(index: int) -> dict:
        actor = db.session.get(User, manager_id)
        items = [
            {"metric_id": metric_id, "value": 0.5, "idempotency_key": f"p{index}-{i}"}
            for i in range(POINTS)
        ]
        return measurements.record_batch(actor, engagement_id, items)

    results = run_at_once(pg_app, post, POSTERS, timeout=120)
    assert [r["recorded"] for r in results] == [POINTS, POINTS], results
    assert _stored(pg_app, engagement_id) == 2 * POINTS
