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


def _endpoint_reads(statements: list[str]) -> int:
    return sum(1 for s in statements if "FROM webhook_endpoint" in s and "is_enabled" in s)


def test_a_unit_of_work_reads_the_enabled_endpoints_once_for_all_its_events(
    ctx, endpoint, query_counter
):
    """A milestone update that moves health queues two events in two flushes (the
    milestone's, then the engagement's health): one read of the endpoints (issue 29)."""
    engagement = make_engagement(title="Once")
    provider = make_user("provider", provider="Northwind ML")
    milestone = add_milestone(engagement)
    before = len(_types())
    with query_counter() as counter:
        milestones.record_update(provider, milestone.id, status="at_risk", note="slow")
    added = _types()[before:]
    assert "milestone.status_changed" in added and "engagement.health_changed" in added
    assert _endpoint_reads(counter.statements) == 1, counter.statements
    # The next unit of work reads again: an endpoint disabled in between gets nothing.
    webhooks.update_endpoint(make_user("admin"), endpoint, {"is_enabled": False})
    deliveries = db.session.query(WebhookDelivery).count()
    with query_counter() as counter:
        milestones.record_update(provider, milestone.id, status="on_track", note="better")
    assert _endpoint_reads(counter.statements) == 1
    assert db.session.query(WebhookDelivery).count() == deliveries


def test_an_endpoint_added_within_the_unit_of_work_receives_its_later_events(ctx, app):
    """The endpoints read for a first event are read again once the unit of work has
    written an endpoint, so a later event of the same transaction reaches the new one."""
    app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = True
    engagement = make_engagement(title="Late endpoint")
    admin_id = make_user("admin").id  # committed before the unit of work begins
    session = db.session()
    assert (
        webhooks.queue_event(session, "drill.recorded", {"n": 1}, engagement_id=engagement.id) == 0
    )
    from tracker.models import WebhookEndpoint

    added = WebhookEndpoint(
        url="http://127.0.0.1:9/late",
        secret=webhooks.new_secret(),
        events=["drill.recorded"],
        is_enabled=True,
        created_by_id=admin_id,
    )
    session.add(added)
    session.flush()
    assert (
        webhooks.queue_event(session, "drill.recorded", {"n": 2}, engagement_id=engagement.id) == 1
    )
    session.rollback()
    assert (
        webhooks.queue_event(session, "drill.recorded", {"n": 3}, engagement_id=engagement.id) == 0
    )
