"""GET /api/v1/providers/{id}/record: the record per role, 404 exactly like a missing one
for another organisation's provider, cost only for who may see cost, in the OpenAPI."""

from __future__ import annotations

import pytest

from tests.api.conftest import assert_error
from tracker.extensions import db
from tracker.models import Engagement


def _provider_ids(app, world):
    with app.app_context():
        own = db.session.get(Engagement, world.engagements["own"]).provider_id
        other = db.session.get(Engagement, world.engagements["other"]).provider_id
        db.session.remove()
    return own, other


@pytest.mark.parametrize(
    ("role", "count", "cost"),
    [("admin", 1, True), ("manager", 1, True), ("stakeholder", 1, False), ("provider", 1, False)],
)
def test_each_role_gets_the_record_it_may_see(app, api, world, role, count, cost):
    own, _ = _provider_ids(app, world)
    response = api.get(f"/providers/{own}/record", role)
    assert response.status_code == 200
    body = response.get_json()
    assert body["provider"]["id"] == own
    assert body["engagements"]["count"] == count
    assert body["engagements"]["engagement_ids"] == [world.engagements["own"]]
    assert ("cost_to_date" in body) is cost
    for name in ("trial_met", "trial_missed", "on_time", "late", "staff_changes"):
        assert set(body[name]) == {"key", "label", "count", "engagement_ids"}


def test_another_organisation_answers_like_a_missing_one(app, api, world):
    _, other = _provider_ids(app, world)
    theirs = api.get(f"/providers/{other}/record", "provider")
    missing = api.get("/providers/999999/record", "provider")
    assert_error(theirs, 404)
    assert theirs.get_json() == missing.get_json()
    assert api.get(f"/providers/{other}/record", "manager").status_code == 200


def test_it_is_in_the_openapi_document(api):
    spec = api.get("/openapi.json", "manager").get_json()
    operation = spec["paths"]["/api/v1/providers/{provider_id}/record"]["get"]
    assert "200" in operation["responses"]
    assert "ProviderRecord" in spec["components"]["schemas"]
