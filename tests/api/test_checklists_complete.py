"""Completing and reopening checklist items through the API (api/checklists.py)."""

from tests.api.conftest import assert_error


def test_checklist_complete_and_reopen_with_notes(api, world):
    item = f"/checklist-items/{world.items['own']}"
    done = api.post(f"{item}/complete", "manager", json={"note": "Signed"}).get_json()
    assert done["status"] == "done" and done["completed_by_id"] == world.users["manager"]
    reopened = api.post(f"{item}/reopen", "manager", json={"note": "Expired"}).get_json()
    assert reopened["status"] == "open" and reopened["note"] == "Expired"
    listed = api.get(f"/engagements/{world.engagements['own']}/checklist?kind=placement", "admin")
    assert {i["kind"] for i in listed.get_json()} == {"placement"}
    assert_error(api.post(f"{item}/complete", "manager", json={"status": "maybe"}), 422)
