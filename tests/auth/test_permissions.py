"""One "not found" for anything the caller may not see; references only to what they see;
fields a role may not see never appear, the audit trail included."""

from __future__ import annotations

import pytest

from tests.api.conftest import ApiClient, World, _build_world
from tests.conftest import AuthActions
from tracker.extensions import db
from tracker.models import User

MISSING = 2_000_000_000


@pytest.fixture
def world(app) -> World:
    with app.app_context():
        built = _build_world()
        db.session.remove()
    return built


@pytest.fixture
def api(client, world) -> ApiClient:
    return ApiClient(client, world)


PARTS = {
    "milestone": ("GET", "/milestones/{id}", "milestones", None),
    "milestone edit": ("PATCH", "/milestones/{id}", "milestones", {"title": "x"}),
    "milestone updates": ("GET", "/milestones/{id}/updates", "milestones", None),
    "milestone update": ("POST", "/milestones/{id}/updates", "milestones", {"status": "on_track"}),
    "checklist item edit": ("PATCH", "/checklist-items/{id}", "items", {"note": "x"}),
    "complete item": ("POST", "/checklist-items/{id}/complete", "items", {}),
    "reopen item": ("POST", "/checklist-items/{id}/reopen", "items", {}),
    "team member edit": ("PATCH", "/team-members/{id}", "members", {"name": "x"}),
    "team member delete": ("DELETE", "/team-members/{id}", "members", None),
}


@pytest.mark.parametrize("role", ["provider", "stakeholder"])
@pytest.mark.parametrize("part", sorted(PARTS))
def test_a_foreign_part_answers_exactly_like_a_missing_one_in_the_api(api, world, role, part):
    method, path, kind, body = PARTS[part]
    foreign = api.call(method, path.format(id=getattr(world, kind)["other"]), role, json=body)
    missing = api.call(method, path.format(id=MISSING), role, json=body)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.get_json() == missing.get_json()


PAGE_POSTS = {
    "milestone update": ("/milestones/{id}/update", "milestones"),
    "complete item": ("/checklist/{id}/complete", "items"),
    "reopen item": ("/checklist/{id}/reopen", "items"),
    "delete member": ("/members/{id}/delete", "members"),
}


def _page_client(app, world, role):
    client = app.test_client()
    with app.app_context():
        email = db.session.get(User, world.users[role]).email
    assert AuthActions(client).login(email).status_code == 302
    return client


def _error_text(response) -> str:
    page = response.get_data(as_text=True)
    return page.split('class="card error-page">', 1)[1].split("</section>", 1)[0]


@pytest.mark.parametrize("part", sorted(PAGE_POSTS))
def test_a_foreign_part_answers_exactly_like_a_missing_one_on_the_pages(app, world, part):
    path, kind = PAGE_POSTS[part]
    app.config["WTF_CSRF_ENABLED"] = False
    client = _page_client(app, world, "provider")
    foreign = client.post(path.format(id=getattr(world, kind)["other"]), data={})
    missing = client.post(path.format(id=MISSING), data={})
    assert foreign.status_code == missing.status_code == 404
    assert _error_text(foreign) == _error_text(missing)


def test_member_edit_page_answers_like_a_missing_member(app, world):
    client = _page_client(app, world, "provider")
    foreign = client.get(f"/members/{world.members['other']}/edit")
    missing = client.get(f"/members/{MISSING}/edit")
    assert foreign.status_code == missing.status_code == 404
    assert _error_text(foreign) == _error_text(missing)


def test_a_provider_cannot_subscribe_to_another_organisations_digest(app, api, world):
    with app.app_context():
        own = db.session.get(User, world.users["provider"]).provider_id
        from tracker.models import Engagement

        other = db.session.get(Engagement, world.engagements["other"]).provider_id
    body = {"scope": "provider", "frequency": "daily", "send_time": "08:00"}
    foreign = api.post("/subscriptions", "provider", json={**body, "provider_id": other})
    missing = api.post("/subscriptions", "provider", json={**body, "provider_id": MISSING})
    assert foreign.status_code == missing.status_code == 422
    assert foreign.get_json() == missing.get_json()
    assert "provider_id" in foreign.get_json()["errors"]
    mine = api.post("/subscriptions", "provider", json={**body, "provider_id": own})
    assert mine.status_code == 201, mine.get_json()
    managed = api.post("/subscriptions", "manager", json={**body, "provider_id": other})
    assert managed.status_code == 201


def test_an_artifact_owner_must_be_someone_who_sees_the_engagement(app, api, world):
    from tests.factories import make_user

    with app.app_context():
        outsider = make_user("provider", provider="Quanta Labs", name="Quinn Outsider").id
    path = f"/engagements/{world.engagements['own']}/artifacts"
    body = {"kind": "runbook", "title": "Serving runbook", "url": "https://wiki.example/run"}
    foreign = api.post(path, "provider", json={**body, "owner_id": outsider})
    missing = api.post(path, "provider", json={**body, "owner_id": MISSING})
    assert foreign.status_code == missing.status_code == 422
    assert foreign.get_json() == missing.get_json()
    assert "Quinn" not in foreign.get_data(as_text=True)
    manager = world.users["manager"]
    allowed = api.post(path, "provider", json={**body, "owner_id": manager})
    assert allowed.status_code == 201, allowed.get_json()


@pytest.mark.parametrize("role", ["provider", "stakeholder"])
def test_cost_changes_never_appear_in_another_roles_audit_trail(app, api, world, role):
    engagement = world.engagements["own"]
    path = f"/engagements/{engagement}"
    api.patch(path, "manager", json={"internal_notes": "secret", "monthly_cost": 45000})
    api.patch(path, "manager", json={"title": "Fraud model v2", "monthly_cost": 46000})
    theirs = api.get(f"{path}/audit", role).get_json()
    text = str(theirs)
    for word in ("monthly_cost", "internal_notes", "currency", "secret", "45000", "cost_updated"):
        assert word not in text
    kinds = [item["kind"] for item in theirs["items"]]
    assert kinds.count("updated") == 1 and theirs["meta"]["total"] == len(theirs["items"])
    assert theirs["items"][0]["data"]["changed"] == {"title": ["Fraud model", "Fraud model v2"]}
    managers = api.get(f"{path}/audit", "manager").get_json()
    assert "monthly_cost" in str(managers) and "cost_updated" in str(managers)
    page = _page_client(app, world, role).get(f"/engagements/{engagement}").get_data(as_text=True)
    audit = page.split('data-testid="audit"', 1)[1]
    assert "Monthly cost" not in audit and "Internal notes" not in audit
    assert "cost" not in audit.lower().split("</ol>")[0] and "secret" not in audit
    assert "Renamed &#39;Fraud model&#39; to &#39;Fraud model v2&#39;" in audit  # their part


def test_legacy_mixed_entries_drop_cost_fields_for_other_roles(app, api, world):
    from tracker.models import AuditEvent

    with app.app_context():
        db.session.add(
            AuditEvent(
                engagement_id=world.engagements["own"],
                actor_label="old version",
                kind="updated",
                data={"changed": {"monthly_cost": ["1", "2"], "title": ["a", "b"]}},
            )
        )
        db.session.commit()
    timeline = api.get(f"/engagements/{world.engagements['own']}/audit", "provider").get_json()
    legacy = next(i for i in timeline["items"] if i["actor_label"] == "old version")
    assert legacy["data"]["changed"] == {"title": ["a", "b"]}
