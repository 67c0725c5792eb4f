"""Handover webhooks: drill.recorded, access.revoked, the access summary on engagement.closed."""

from __future__ import annotations

from sqlalchemy import select

from tests.factories import complete_checklist, make_user
from tests.services.messaging.test_webhook_events import endpoint  # noqa: F401  (the fixture)
from tracker.core import clock
from tracker.extensions import db
from tracker.models import WebhookEvent
from tracker.services.handover import access, drills
from tracker.services.knowledge import shadows
from tracker.services.workflow import transitions


def _event(kind: str) -> dict:
    row = db.session.scalars(select(WebhookEvent).where(WebhookEvent.type == kind)).one()
    return row.payload["data"]


def test_drill_and_revocation_events_and_the_closed_payload(kt, endpoint):  # noqa: F811
    assignment = shadows.assign_shadow(
        kt.manager,
        kt.engagement.id,
        {"member_id": kt.tom.id, "shadow_id": kt.internal.id, "areas": ["pipelines"]},
    )
    drills.record_drill(
        kt.manager,
        assignment.id,
        {
            "area": "pipelines",
            "task": "Rerun the backfill",
            "performed_by_id": kt.internal.id,
            "performed_on": clock.now().date(),
            "outcome": "partly",
        },
    )
    drill = _event("drill.recorded")["drill"]
    assert (drill["area"], drill["outcome"], drill["member"]) == ("pipelines", "partly", "Tom Ruiz")
    assert drill["follow_up_item_id"] is not None
    entry = access.add_entry(kt.manager, kt.tom.id, {"system": "Airflow", "kind": "other"})
    access.revoke_entry(kt.manager, entry.id, "account disabled")
    revoked = _event("access.revoked")
    assert revoked["access"]["system"] == "Airflow"
    assert revoked["access"]["revoked_by"] == kt.manager.name
    assert revoked["engagement"]["id"] == kt.engagement.id
    access.verify_entry(make_user("manager", name="Vera Second"), entry.id, "Airflow users page")
    complete_checklist(kt.engagement, "knowledge_transfer")
    admin = make_user("admin")
    transitions.fire(
        admin, kt.engagement.id, "close", {}, override_reason="Handover proven elsewhere"
    )
    summary = _event("engagement.closed")["access"]
    airflow = next(a for a in summary if a["system"] == "Airflow")
    assert airflow["member"] == "Tom Ruiz" and airflow["verified_by"] == "Vera Second"
    assert airflow["revoked_at"] is not None and airflow["revoked_by"] == kt.manager.name
