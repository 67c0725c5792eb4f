"""The handover API: the exact paths our external checks use, their errors, and who may do what."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.api.conftest import assert_error
from tracker.extensions import db
from tracker.models import AccessEntry, Drill, ShadowAssignment, TeamMember

PATHS = [
    "/shadows/{shadow_id}/drills",
    "/engagements/{engagement_id}/drills",
    "/team-members/{member_id}/access",
    "/access/{entry_id}/revoke",
    "/access/{entry_id}/verify",
    "/engagements/{engagement_id}/access",
    "/engagements/{engagement_id}/access.csv",
    "/engagements/{engagement_id}/exit",
]


@pytest.fixture
def shadow_id(app, world) -> int:
    """A shadow assignment on the own engagement's external member, by the stakeholder."""
    with app.app_context():
        member = db.session.get(TeamMember, world.members["own"])
        assignment = ShadowAssignment(
            engagement_id=world.engagements["own"],
            member_id=member.id,
            shadow_id=world.users["stakeholder"],
            areas=list(member.areas),
        )
        db.session.add(assignment)
        db.session.commit()
        return assignment.id


def _drill(world, **changes) -> dict:
    body = {
        "area": "serving",
        "task": "Deploy the model alone",
        "performed_by_id": world.users["stakeholder"],
        "observed_by_id": world.users["manager"],
        "performed_on": date.today().isoformat(),
        "outcome": "failed",
        "minutes": 90,
        "missing": "The deploy key lives in Mara's vault.",
        "evidence_url": "https://ci.example.com/runs/42",
    }
    return body | changes


def test_the_openapi_document_has_every_path_and_method(api):
    spec = api.get("/openapi.json").get_json()
    for path in PATHS:
        assert f"/api/v1{path}" in spec["paths"], path
    assert set(spec["paths"]["/api/v1/engagements/{engagement_id}/exit"]) >= {"get", "put"}
    assert set(spec["paths"]["/api/v1/shadows/{shadow_id}/drills"]) >= {"get", "post"}
    assert set(spec["paths"]["/api/v1/team-members/{member_id}/access"]) >= {"get", "post"}


def test_recording_a_failed_drill_answers_with_its_follow_up(api, world, shadow_id):
    response = api.post(f"/shadows/{shadow_id}/drills", "manager", json=_drill(world))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["outcome"] == "failed" and body["follow_up_item_id"] is not None
    assert body["performed_by"]["id"] == world.users["stakeholder"]
    listed = api.get(f"/engagements/{world.engagements['own']}/drills", "provider").get_json()
    assert [d["id"] for d in listed] == [body["id"]]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"performed_by_id": "provider"}, "performed_by_id"),
        ({"performed_by_id": None}, "performed_by_id"),
        ({"performed_on": (date.today() + timedelta(days=5)).isoformat()}, "performed_on"),
        ({"area": "quantum"}, "area"),
        ({"outcome": "great"}, "outcome"),
    ],
)
def test_a_bad_drill_is_422_naming_the_field(app, api, world, shadow_id, changes, field):
    if changes.get("performed_by_id") == "provider":
        changes = {"performed_by_id": world.users["provider"]}
    response = api.post(f"/shadows/{shadow_id}/drills", "manager", json=_drill(world, **changes))
    assert_error(response, 422, field=field)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Drill.id))) == 0


def test_a_provider_cannot_record_a_drill(api, world, shadow_id):
    response = api.post(f"/shadows/{shadow_id}/drills", "provider", json=_drill(world))
    assert_error(response, 403, "forbidden")


def test_revoke_then_verify_by_a_second_person(app, api, world):
    member = world.members["own"]
    created = api.post(
        f"/team-members/{member}/access",
        "manager",
        json={"system": "GitHub org", "kind": "code_repository", "account": "mara-q"},
    )
    assert created.status_code == 201, created.get_json()
    entry = created.get_json()["id"]
    assert_error(
        api.post(f"/access/{entry}/verify", "admin", json={"how": "x"}), 409, field="revoked_at"
    )
    revoked = api.post(f"/access/{entry}/revoke", "manager", json={"note": "gone"})
    assert (
        revoked.status_code == 200
        and revoked.get_json()["revoked_by"]["id"] == world.users["manager"]
    )
    assert_error(api.post(f"/access/{entry}/revoke", "admin", json={}), 409, field="revoked_at")
    own = api.post(f"/access/{entry}/verify", "manager", json={"how": "org list"})
    assert_error(own, 403, field="verified_by")
    assert_error(api.post(f"/access/{entry}/verify", "provider", json={"how": "x"}), 403)
    verified = api.post(f"/access/{entry}/verify", "admin", json={"how": "checked the org list"})
    assert verified.status_code == 200
    assert verified.get_json()["verified_by"]["id"] == world.users["admin"]
    csv_text = api.get(f"/engagements/{world.engagements['own']}/access.csv", "stakeholder")
    assert csv_text.status_code == 200 and "checked the org list" in csv_text.get_data(as_text=True)


def test_another_providers_member_and_entries_are_404(app, api, world):
    other = world.members["other"]
    body = {"system": "Slack", "kind": "chat"}
    assert_error(api.post(f"/team-members/{other}/access", "provider", json=body), 404)
    assert_error(api.get(f"/team-members/{other}/access", "provider"), 404)
    with app.app_context():
        entry = AccessEntry(
            engagement_id=world.engagements["other"], member_id=other, system="Slack", kind="chat"
        )
        db.session.add(entry)
        db.session.commit()
        entry_id = entry.id
    assert_error(api.post(f"/access/{entry_id}/revoke", "provider", json={}), 404)
    assert_error(api.get(f"/engagements/{world.engagements['other']}/access", "provider"), 404)


def test_exit_get_and_put_with_etags(api, world):
    path = f"/engagements/{world.engagements['own']}/exit"
    empty = api.get(path, "stakeholder")
    assert empty.status_code == 200 and empty.headers["ETag"] == '"v0"'
    assert empty.get_json()["data_disposition"] is None
    body = {
        "ip_assignment_confirmed_on": date.today().isoformat(),
        "ip_document_url": "https://docs.example.com/ip.pdf",
        "data_disposition": "returned",
        "data_certificate_url": "https://docs.example.com/returned.pdf",
        "artifacts_transferred_to": "https://github.com/acme/fraud",
    }
    saved = api.call("PUT", path, "manager", json=body, headers={"If-Match": '"v0"'})
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["data_confirmed_by"]["id"] == world.users["manager"]
    stale = api.call("PUT", path, "manager", json=body, headers={"If-Match": '"v0"'})
    assert_error(stale, 412, "stale_version")
    bad = api.call("PUT", path, "manager", json=body | {"data_disposition": "burnt"})
    assert_error(bad, 422, field="data_disposition")
    assert_error(api.call("PUT", path, "stakeholder", json=body), 403)


@pytest.mark.parametrize("if_match", ["", "  ", "v0", 'W/"v0"', '"v0', "0"])
def test_a_malformed_if_match_is_412_even_before_the_first_exit_record(app, api, world, if_match):
    # Found by the CLI fuzz with real ids: an unreadable If-Match stood for version 0, which
    # is the exit's version before any record, so the write went through (ADR 0010: 412).
    path = f"/engagements/{world.engagements['own']}/exit"
    body = {"ip_document_url": "https://docs.example.com/ip.pdf"}
    refused = api.call("PUT", path, "manager", json=body, headers={"If-Match": if_match})
    assert_error(refused, 412, "stale_version", field="If-Match")
    assert api.get(path, "manager").get_json()["version"] == 0
    with app.app_context():
        from tracker.models import ExitConfirmation

        assert db.session.scalar(db.select(db.func.count(ExitConfirmation.id))) == 0


def test_the_stakeholder_reads_access_but_cannot_add(api, world):
    member = world.members["own"]
    body = {"system": "VPN", "kind": "vpn"}
    assert_error(api.post(f"/team-members/{member}/access", "stakeholder", json=body), 403)
    assert api.get(f"/team-members/{member}/access", "stakeholder").status_code == 200


def test_an_empty_exit_put_before_any_record_keeps_nothing(app, api, world):
    path = f"/engagements/{world.engagements['own']}/exit"
    empty = api.call("PUT", path, "manager", json={})
    assert empty.status_code == 200 and empty.get_json()["version"] == 0
    assert empty.headers["ETag"] == '"v0"'
    with app.app_context():
        from tracker.models import ExitConfirmation

        assert db.session.scalar(db.select(db.func.count(ExitConfirmation.id))) == 0
