"""Webhooks from evidence: one measurement.recorded per batch, and suggested-verdict changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.factories import add_milestone, add_target, make_engagement, make_user
from tracker.extensions import db
from tracker.models import WebhookEvent
from tracker.services.evidence import measurements, metrics
from tracker.services.messaging import webhooks


@pytest.fixture
def endpoint(app):
    with app.app_context():
        app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = True
        admin = make_user("admin")
        made = webhooks.create_endpoint(
            admin, {"url": "http://127.0.0.1:9/h", "events": list(webhooks.EVENT_TYPES)}
        )
        return made.id


def _events(kind: str) -> list[dict]:
    query = select(WebhookEvent.payload).where(WebhookEvent.type == kind).order_by(WebhookEvent.id)
    return [p["data"] for p in db.session.scalars(query)]


def test_one_recorded_event_per_batch_and_one_per_suggestion_change(ctx, endpoint):
    manager = make_user("manager")
    engagement = make_engagement(manager, title="Churn")
    milestone = add_milestone(engagement, days=10, title="Day-30")
    metric = metrics.create_metric(
        manager,
        engagement.id,
        {"name": "Cost per 1,000", "kind": "cost", "direction": "lower", "unit": "EUR"},
    )
    add_target(milestone, metric, 1.5)
    when = datetime.now(UTC) - timedelta(days=1)
    items = [{"metric_id": metric.id, "value": 2.0 + i, "measured_at": when} for i in range(50)]
    assert measurements.record_batch(manager, engagement.id, items)["recorded"] == 50
    recorded = _events("measurement.recorded")
    assert len(recorded) == 1 and recorded[0]["recorded"] == 50
    assert recorded[0]["metrics"] == {str(metric.id): 50}
    assert _events("milestone.suggested_verdict_changed") == []  # still undecided
    measurements.record_batch(manager, engagement.id, [{"metric_id": metric.id, "value": 1.2}])
    changed = _events("milestone.suggested_verdict_changed")
    assert [(c["milestone"]["id"], c["from"], c["to"]) for c in changed] == [
        (milestone.id, "undecided", "met")
    ]
    assert "1.2" not in str(changed) and "2.0" not in str(recorded)  # no cost figures leave
