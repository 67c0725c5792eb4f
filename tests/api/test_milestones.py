"""/api/v1 milestones: verdicts by the client side, removal with If-Match, dates refused."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.api.conftest import assert_error


def _milestone(api, world, role="manager"):
    return api.get(f"/milestones/{world.milestones['own']}", role)


def test_provider_reports_done_and_a_verdict_is_422_naming_status(api, world):
    path = f"/milestones/{world.milestones['own']}/updates"
    done = api.post(path, "provider", json={"status": "done", "note": "Shipped"})
    assert done.status_code == 201
    for verdict in ("met", "missed"):
        body = assert_error(api.post(path, "provider", json={"status": verdict}), 422)
        assert "status" in body["errors"] and "manager" in body["errors"]["status"][0]
    assert _milestone(api, world).get_json()["status"] == "done"


def test_manager_verdict_is_recorded_with_who_and_when_and_shown_to_the_provider(api, world):
    path = f"/milestones/{world.milestones['own']}/updates"
    assert api.post(path, "manager", json={"status": "met"}).status_code == 201
    seen = _milestone(api, world, "provider").get_json()
    assert seen["status"] == "met" and seen["verdict_by"]["id"] == world.users["manager"]
    assert seen["verdict_at"] is not None


def test_delete_with_a_stale_if_match_is_412_then_removes(api, world):
    one = f"/milestones/{world.milestones['own']}"
    tag = _milestone(api, world).headers["ETag"]
    assert_error(api.call("DELETE", one, "manager", headers={"If-Match": '"v99"'}), 412)
    assert api.get(one, "manager").status_code == 200
    assert api.call("DELETE", one, "manager", headers={"If-Match": tag}).status_code == 204
    assert_error(api.get(one, "manager"), 404)
    listed = api.get(f"/engagements/{world.engagements['own']}/milestones", "manager")
    assert listed.get_json() == []


@pytest.mark.parametrize("role", ["provider", "stakeholder"])
def test_only_the_client_side_removes_milestones(api, world, role):
    one = f"/milestones/{world.milestones['own']}"
    assert api.call("DELETE", one, role).status_code == 403
    assert api.get(one, "manager").status_code == 200


def test_another_providers_milestone_answers_404_on_delete(api, world):
    assert_error(api.call("DELETE", f"/milestones/{world.milestones['other']}", "provider"), 404)


def test_a_removed_milestone_with_history_keeps_it_and_leaves_the_lists(api, world):
    path = f"/milestones/{world.milestones['own']}"
    assert api.post(f"{path}/updates", "provider", json={"status": "on_track"}).status_code == 201
    assert api.call("DELETE", path, "manager").status_code == 204
    assert_error(api.get(path, "manager"), 404)
    assert api.get("/milestones/mine", "provider").get_json() == []


@pytest.mark.parametrize("days", [-400, 3 * 366 + 1])
def test_patch_with_an_implausible_due_date_is_422_naming_it(api, world, days):
    due = (date.today() + timedelta(days=days)).isoformat()
    one = f"/milestones/{world.milestones['own']}"
    before = _milestone(api, world).get_json()["due_date"]
    assert_error(api.patch(one, "manager", json={"due_date": due}), 422, field="due_date")
    assert _milestone(api, world).get_json()["due_date"] == before


def test_a_bound_checklist_item_is_422_naming_status(api, world, app):
    from tracker.extensions import db
    from tracker.models import ChecklistItem

    with app.app_context():
        item_id = db.session.scalar(
            db.select(ChecklistItem.id).where(
                ChecklistItem.engagement_id == world.engagements["own"],
                ChecklistItem.key == "technical_contact",
            )
        )
    complete = f"/checklist-items/{item_id}/complete"
    body = assert_error(api.post(complete, "manager", json={"note": "Named"}), 422)
    assert "status" in body["errors"]
    contact = {"technical_contact_id": world.users["stakeholder"]}
    patched = api.patch(f"/engagements/{world.engagements['own']}", "manager", json=contact)
    assert patched.status_code == 200
    item = api.get(f"/engagements/{world.engagements['own']}/checklist", "manager").get_json()
    bound = next(i for i in item if i["id"] == item_id)
    assert bound["status"] == "done" and bound["completed_by_id"] is None


def test_a_checklist_due_date_before_the_start_is_422_and_changes_nothing(api, world):
    item = f"/checklist-items/{world.items['own']}"
    too_early = (date.today() - timedelta(days=400)).isoformat()
    assert_error(api.patch(item, "manager", json={"due_date": too_early}), 422, field="due_date")
    listed = api.get(f"/engagements/{world.engagements['own']}/checklist", "manager").get_json()
    assert next(i for i in listed if i["id"] == world.items["own"])["due_date"] is None
