"""The calendar feed's API (api/calendar.py): the secret URL, its rotation, and its scope."""

from __future__ import annotations

from tests.api.conftest import assert_error


def test_calendar_url_is_made_once_and_rotation_kills_the_old_one(api, client):
    first = api.get("/me/calendar", "provider")
    assert first.status_code == 200
    url = first.get_json()["url"]
    assert url.endswith(".ics") and api.get("/me/calendar", "provider").get_json()["url"] == url
    path = url.removeprefix("http://localhost")
    assert client.get(path).status_code == 200
    rotated = api.post("/me/calendar/rotate", "provider")
    assert rotated.status_code == 200 and rotated.get_json()["url"] != url
    assert client.get(path).status_code == 404
    assert_error(api.get("/me/calendar"), 401)


def test_calendar_scope_all_is_for_the_client_side(api):
    assert api.patch("/me/calendar", "manager", json={"scope": "all"}).get_json()["scope"] == "all"
    assert_error(api.patch("/me/calendar", "provider", json={"scope": "all"}), 422, field="scope")
    assert_error(api.patch("/me/calendar", "manager", json={"scope": "x"}), 422, field="scope")
