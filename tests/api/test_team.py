"""Team members through the API (api/team.py): add, update, remove, audited; bad input 422."""

import pytest

from tests.api.conftest import assert_error


def test_team_member_add_update_remove_is_audited(api, world):
    path = f"/engagements/{world.engagements['own']}"
    body = {"name": "Ana", "role": "data_engineer", "allocation": 50, "areas": ["etl"]}
    member = api.post(f"{path}/team", "manager", json=body).get_json()
    changed = api.patch(f"/team-members/{member['id']}", "manager", json={"allocation": 80})
    assert changed.get_json()["allocation"] == 80
    assert api.delete(f"/team-members/{member['id']}", "manager").status_code == 204
    assert member["id"] not in [m["id"] for m in api.get(f"{path}/team", "manager").get_json()]
    kinds = [e["kind"] for e in api.get(f"{path}/audit", "manager").get_json()["items"]]
    assert {"team_member_added", "team_member_updated", "team_member_removed"} <= set(kinds)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"allocation": 0}, "allocation"),
        ({"allocation": 50.5}, "allocation"),
        ({"role": "wizard"}, "role"),
        ({"start_date": "2030-02-01", "end_date": "2030-01-01"}, "end_date"),
        ({"user_id": 99999}, "user_id"),
        ({"areas": ["x" * 101]}, "areas"),
        ({"is_external": 0}, "is_external"),
        ({"is_external": "yes"}, "is_external"),
    ],
)
def test_bad_team_members_are_422(api, world, body, field):
    path = f"/engagements/{world.engagements['own']}/team"
    payload = {"name": "Ana", "role": "data_engineer", **body}
    assert_error(api.post(path, "manager", json=payload), 422, field=field)
    assert len(api.get(path, "manager").get_json()) == 1
