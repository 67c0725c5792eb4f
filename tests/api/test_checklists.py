"""/api/v1 checklist items: edit with If-Match, evidence checked, move and remove."""

from __future__ import annotations

from tests.api.conftest import assert_error


def _items(api, world, role="manager"):
    return api.get(f"/engagements/{world.engagements['own']}/checklist", role).get_json()


def test_patch_with_a_stale_if_match_is_412_and_a_bad_link_422_naming_the_field(api, world):
    one = f"/checklist-items/{world.items['own']}"
    first = api.patch(one, "manager", json={"note": "Half done"})
    assert first.status_code == 200 and first.get_json()["note"] == "Half done"
    tag = first.headers["ETag"]
    assert_error(api.patch(one, "manager", json={"note": "x"}, headers={"If-Match": '"v1"'}), 412)
    bad = assert_error(api.patch(one, "manager", json={"evidence": "ftp://x"}), 422)
    assert "evidence" in bad["errors"]
    ok = api.patch(
        one, "manager", json={"evidence": "https://t.example.com/1"}, headers={"If-Match": tag}
    )
    assert ok.status_code == 200 and ok.get_json()["evidence"] == "https://t.example.com/1"
    assert ok.get_json()["note"] == "Half done"


def test_move_and_remove(api, world):
    path = f"/checklist-items/{world.items['own']}"
    before = [i["id"] for i in _items(api, world) if i["kind"] == "prerequisite"]
    index = before.index(world.items["own"])
    direction = "down" if index == 0 else "up"
    moved = api.post(f"{path}/move", "manager", json={"direction": direction})
    assert moved.status_code == 200
    after = [i["id"] for i in _items(api, world) if i["kind"] == "prerequisite"]
    assert after.index(world.items["own"]) == index + (1 if direction == "down" else -1)
    assert_error(api.post(f"{path}/move", "manager", json={"direction": "left"}), 422)
    assert api.call("DELETE", path, "provider").status_code == 403
    assert_error(api.call("DELETE", f"/checklist-items/{world.items['other']}", "provider"), 404)
    assert api.call("DELETE", path, "manager").status_code == 204
    assert world.items["own"] not in [i["id"] for i in _items(api, world)]
