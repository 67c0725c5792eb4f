"""Lifecycle transitions through the API (api/transitions.py): unmet requirements, firing,
stale If-Match, bad bodies, early review with a reason, hold and resume."""

from datetime import date, timedelta

import pytest

from tests.api.conftest import assert_error
from tests.factories import complete_checklist
from tracker.extensions import db
from tracker.models import Engagement


def _ready_for_trial(app, engagement_id):
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        complete_checklist(engagement, "prerequisite")
        complete_checklist(engagement, "placement")


def test_transitions_list_every_unmet_requirement(api, world):
    path = f"/engagements/{world.engagements['own']}/transitions"
    options = {o["event"]: o for o in api.get(path, "manager").get_json()}
    start = options["start_trial"]
    assert start["allowed"] is False
    codes = {u["code"] for u in start["unmet"]}
    assert len(start["unmet"]) >= 2 and all(u["message"] for u in start["unmet"]), codes


def test_firing_with_unmet_guards_is_409_with_the_unmet_list_and_changes_nothing(api, world):
    path = f"/engagements/{world.engagements['own']}"
    response = api.post(f"{path}/transitions/start_trial", "manager", json={})
    body = assert_error(response, 409, "guard_failed")
    assert body["unmet"] and {"code", "message"} <= set(body["unmet"][0])
    assert api.get(path, "manager").get_json()["state"] == "discovery"


def test_firing_an_allowed_transition_moves_the_state_and_the_etag(app, api, world):
    _ready_for_trial(app, world.engagements["own"])
    path = f"/engagements/{world.engagements['own']}"
    tag = api.get(path, "manager").headers["ETag"]
    response = api.post(
        f"{path}/transitions/start_trial", "manager", json={}, headers={"If-Match": tag}
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["state"] == "trial" and response.headers["ETag"] != tag
    timeline = api.get(f"{path}/audit", "manager").get_json()["items"]
    assert any(e["kind"] == "transition" and e["to_state"] == "trial" for e in timeline)


def test_firing_with_a_stale_if_match_is_412(app, api, world):
    _ready_for_trial(app, world.engagements["own"])
    path = f"/engagements/{world.engagements['own']}"
    response = api.post(
        f"{path}/transitions/start_trial", "manager", json={}, headers={"If-Match": '"v999"'}
    )
    assert_error(response, 412, "stale_version")
    assert api.get(path, "manager").get_json()["state"] == "discovery"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"inputs": {"reason": ["a"]}}, 422),
        ({"inputs": {"reason": "nul\x00"}}, 422),
        ({"inputs": "text"}, 422),
        ({"extra": 1}, 422),
    ],
)
def test_bad_fire_bodies_are_422(api, world, body, status):
    path = f"/engagements/{world.engagements['own']}/transitions/cancel"
    assert_error(api.post(path, "manager", json=body), status)


def test_unknown_event_is_409_naming_it(api, world):
    path = f"/engagements/{world.engagements['own']}/transitions/fly_away"
    assert_error(api.post(path, "manager", json={}), 409, field="event")


def _judge_every_milestone(api, world, engagement_id):
    for m in api.get(f"/engagements/{engagement_id}/milestones", "manager").get_json():
        api.post(f"/milestones/{m['id']}/updates", "manager", json={"status": "met"})


def test_early_review_needs_a_reason_then_extending_by_three_months_works(app, api, world):
    """The reported 409: an early review, then a 3-month extension whose end fell on the
    cancelled trial timer's instant. Now: 422 without a reason, then 200 twice."""
    _ready_for_trial(app, world.engagements["own"])
    path = f"/engagements/{world.engagements['own']}"
    assert api.post(f"{path}/transitions/start_trial", "manager", json={}).status_code == 200
    refused = api.post(f"{path}/transitions/begin_review", "manager", json={})
    assert_error(refused, 422, field="reason")
    assert api.get(path, "manager").get_json()["state"] == "trial"
    early = {"inputs": {"reason": "The sponsor leaves; judge now"}}
    assert api.post(f"{path}/transitions/begin_review", "manager", json=early).status_code == 200
    _judge_every_milestone(api, world, world.engagements["own"])
    extend = {"inputs": {"months": 3, "review": "Good start"}}
    response = api.post(f"{path}/transitions/extend", "manager", json=extend)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["state"] == "extension"


def test_hold_and_resume_through_the_api(app, api, world):
    path = f"/engagements/{world.engagements['own']}"
    assert_error(api.post(f"{path}/transitions/resume", "manager", json={}), 409)  # not held
    bad = {"inputs": {"reason": "Budget freeze", "expected_resume": "soon"}}
    assert_error(
        api.post(f"{path}/transitions/put_on_hold", "manager", json=bad),
        422,
        field="expected_resume",
    )
    back = (date.today() + timedelta(days=21)).isoformat()
    body = {"inputs": {"reason": "Budget freeze", "expected_resume": back}}
    held = api.post(f"{path}/transitions/put_on_hold", "manager", json=body)
    assert held.status_code == 200, held.get_data(as_text=True)
    assert held.get_json()["state"] == "on_hold"
    with app.app_context():
        engagement = db.session.get(Engagement, world.engagements["own"])
        assert engagement.expected_resume.isoformat() == back
        assert engagement.paused_from_state == "discovery"
    assert_error(api.post(f"{path}/transitions/put_on_hold", "manager", json=body), 409)
    options = {o["event"]: o for o in api.get(f"{path}/transitions", "manager").get_json()}
    assert options["resume"]["to_state"] == "discovery"
    resumed = api.post(f"{path}/transitions/resume", "manager", json={"inputs": {}})
    assert resumed.status_code == 200 and resumed.get_json()["state"] == "discovery"
