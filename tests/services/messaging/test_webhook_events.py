"""Which changes become webhook events: through the real services, in the same transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import add_milestone, make_engagement, make_user
from tracker.extensions import db
from tracker.models import ChecklistItem, WebhookDelivery, WebhookEvent
from tracker.services.delivery import checklists, milestones
from tracker.services.knowledge import adrs
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


def _types() -> list[str]:
    return list(db.session.scalars(select(WebhookEvent.type).order_by(WebhookEvent.id)))


def test_created_checklist_milestone_and_adr_events(ctx, endpoint):
    engagement = make_engagement(title="Events")
    assert _types() == ["engagement.created"]
    item_id = db.session.scalar(
        select(ChecklistItem.id).where(ChecklistItem.engagement_id == engagement.id)
    )
    owner = engagement.owner
    checklists.complete_item(owner, item_id)
    checklists.reopen_item(owner, item_id, note="not yet")
    assert _types()[-2:] == ["checklist_item.completed", "checklist_item.reopened"]
    provider = make_user("provider", provider="Northwind ML")
    milestone = add_milestone(engagement)
    milestones.record_update(provider, milestone.id, status="at_risk", note="slow")
    assert "milestone.status_changed" in _types()
    adr = adrs.create_adr(owner, engagement.id, {"title": "Use Kafka", "context": "c"})
    adrs.decide_adr(owner, adr.id, "accepted")
    event = db.session.scalars(
        select(WebhookEvent).where(WebhookEvent.type == "adr.status_changed")
    ).one()
    assert event.payload["data"]["old"] == "proposed" and event.payload["data"]["new"] == "accepted"
    health = [t for t in _types() if t == "engagement.health_changed"]
    assert health, _types()  # the at-risk milestone turned the engagement amber
    deliveries = db.session.scalars(select(WebhookDelivery.message_id)).all()
    assert len(deliveries) == len(set(deliveries)) == len(_types())


def test_nothing_is_written_without_a_subscribed_endpoint(ctx):
    engagement = make_engagement()
    item_id = db.session.scalar(
        select(ChecklistItem.id).where(ChecklistItem.engagement_id == engagement.id)
    )
    checklists.complete_item(engagement.owner, item_id)
    assert _types() == []


def test_a_rolled_back_change_leaves_no_event(ctx, endpoint):
    engagement = make_engagement()
    item = db.session.scalars(
        select(ChecklistItem).where(ChecklistItem.engagement_id == engagement.id)
    ).first()
    before = len(_types())
    item.status = "done"
    db.session.flush()
    db.session.rollback()
    assert len(_types()) == before
