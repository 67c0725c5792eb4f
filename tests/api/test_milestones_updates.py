"""Milestone updates through the API (api/milestones.py): a provider's update with evidence,
bad updates, my milestones, a manager's create and edit."""

from datetime import date, timedelta

import pytest

from tests.api.conftest import assert_error


def test_provider_records_a_milestone_update_with_evidence(api, world):
    path = f"/milestones/{world.milestones['own']}"
    tag = api.get(path, "provider").headers["ETag"]
    body = {"status": "at_risk", "note": "Data late", "evidence": ["https://ci.example/run/1"]}
    response = api.post(f"{path}/updates", "provider", json=body, headers={"If-Match": tag})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["evidence"] == ["https://ci.example/run/1"]
    assert api.get(path, "provider").get_json()["status"] == "at_risk"
    history = api.get(f"{path}/updates", "manager").get_json()
    assert history[0]["note"] == "Data late"
    stale = api.post(f"{path}/updates", "provider", json=body, headers={"If-Match": tag})
    assert_error(stale, 412)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "great"}, "status"),
        ({"status": "met", "evidence": ["ftp://x"]}, "evidence"),
        ({"status": "met", "evidence": "https://x.example"}, "evidence"),
        ({"status": "met", "note": "x" * 5001}, "note"),
        ({"note": "no status"}, "status"),
    ],
)
def test_bad_milestone_updates_are_422_and_record_nothing(api, world, body, field):
    path = f"/milestones/{world.milestones['own']}/updates"
    assert_error(api.post(path, "provider", json=body), 422, field=field)
    assert api.get(path, "provider").get_json() == []


def test_my_milestones_lists_only_the_providers_own(api, world):
    mine = api.get("/milestones/mine", "provider").get_json()
    assert [m["id"] for m in mine] == [world.milestones["own"]]


def test_manager_creates_and_edits_a_milestone(api, world):
    path = f"/engagements/{world.engagements['own']}/milestones"
    day45, day60 = (date.today() + timedelta(days=n) for n in (45, 60))
    body = {"title": "Day 45", "due_date": day45.isoformat(), "success_criteria": "AUC 0.9"}
    created = api.post(path, "manager", json=body)
    assert created.status_code == 201
    one = f"/milestones/{created.get_json()['id']}"
    edited = api.patch(one, "manager", json={"due_date": day60.isoformat()})
    assert edited.status_code == 200 and edited.get_json()["due_date"] == day60.isoformat()
    assert_error(api.post(path, "manager", json={**body, "due_date": "15/01/2030"}), 422)


@pytest.mark.parametrize("role", ["provider", "manager"])
def test_the_update_answer_is_the_history_read_afresh_byte_for_byte(app, api, world, role):
    """The 201 body is built from the update and its author as committed (not selected
    again, issue 29): a fresh read of the history through the schema gives the same bytes."""
    from flask import jsonify

    from tracker.extensions import db
    from tracker.models import MilestoneUpdate
    from tracker.schemas.milestone import StatusUpdateSchema

    path = f"/milestones/{world.milestones['own']}/updates"
    body = {"status": "at_risk", "note": "Late data", "evidence": ["https://ci.example/r/2"]}
    created = api.post(path, role, json=body)
    assert created.status_code == 201, created.get_json()
    answer = created.get_json()
    assert answer["author"] == {"id": world.users[role], "name": answer["author"]["name"]}
    assert answer["author"]["name"] and answer["from_status"] and answer["created_at"]
    assert api.get(path, "manager").get_json()[0] == answer
    with app.test_request_context():
        fresh = db.session.get(MilestoneUpdate, answer["id"])
        assert created.get_data() == jsonify(StatusUpdateSchema().dump(fresh)).get_data()
        db.session.remove()


def test_an_update_that_moves_only_the_reasons_moves_the_engagements_etag(api, world):
    """The reasons are part of the engagement's representation: a second milestone at risk
    keeps it amber but adds a reason, so a client's copy (its ETag) is stale (ADR 0261)."""
    engagement = f"/engagements/{world.engagements['own']}"
    day45 = (date.today() + timedelta(days=45)).isoformat()
    body = {"title": "Day 45", "due_date": day45, "success_criteria": "AUC 0.9"}
    second = api.post(f"{engagement}/milestones", "manager", json=body).get_json()["id"]
    first = world.milestones["own"]
    late = {"status": "at_risk", "note": "Data late"}
    assert api.post(f"/milestones/{first}/updates", "provider", json=late).status_code == 201
    before = api.get(engagement, "manager")
    assert before.get_json()["health"] == "amber"
    assert api.post(f"/milestones/{second}/updates", "provider", json=late).status_code == 201
    after = api.get(engagement, "manager")
    assert after.get_json()["health"] == "amber"
    assert len(after.get_json()["health_reasons"]) == len(before.get_json()["health_reasons"]) + 1
    assert after.headers["ETag"] != before.headers["ETag"]
    assert after.headers["ETag"] == f'"v{after.get_json()["version"]}"'
    stale = api.patch(
        engagement,
        "manager",
        json={"title": "Renamed"},
        headers={"If-Match": before.headers["ETag"]},
    )
    assert_error(stale, 412)
