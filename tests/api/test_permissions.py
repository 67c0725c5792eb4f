"""Role × endpoint × own/other organisation: the exact status code of every combination.

`own` is the provider's organisation's engagement (and the one the stakeholder
follows); `other` belongs to another provider. What a user may not see is a
404, never a 403; what they may see but not change is a 403.
"""

import pytest

# (id, method, path (with {e} engagement, {m} milestone, {i} checklist item, {t} member), body)
ENDPOINTS = {
    "read": ("GET", "/engagements/{e}", None),
    "edit": ("PATCH", "/engagements/{e}", {"title": "Renamed"}),
    "team": ("GET", "/engagements/{e}/team", None),
    "add_member": ("POST", "/engagements/{e}/team", {"name": "Ana", "role": "data_engineer"}),
    "edit_member": ("PATCH", "/team-members/{t}", {"allocation": 50}),
    "checklist": ("GET", "/engagements/{e}/checklist", None),
    "complete_item": ("POST", "/checklist-items/{i}/complete", {"note": "ok"}),
    "milestones": ("GET", "/engagements/{e}/milestones", None),
    "milestone": ("GET", "/milestones/{m}", None),
    "status_update": ("POST", "/milestones/{m}/updates", {"status": "on_track", "note": "fine"}),
    "history": ("GET", "/milestones/{m}/updates", None),
    "transitions": ("GET", "/engagements/{e}/transitions", None),
    "fire": ("POST", "/engagements/{e}/transitions/start_trial", {}),
    "audit": ("GET", "/engagements/{e}/audit", None),
}

OK = {"GET": 200, "PATCH": 200, "POST": 201}
READS = {"read", "team", "checklist", "milestones", "milestone", "history", "transitions", "audit"}
CLIENT_WRITES = {"edit", "add_member", "edit_member", "complete_item"}


def expected(role: str, endpoint: str, target: str) -> int:
    """The rule table, spelled out (permissions.py is what is being checked)."""
    method = ENDPOINTS[endpoint][0]
    success = 200 if endpoint == "complete_item" else OK[method]
    if endpoint == "fire":
        success = 409  # the fresh engagement's prerequisites are unmet
    if role in ("admin", "manager"):
        return success
    if target == "other":
        return 404
    if endpoint in READS:
        return 200
    if role == "provider" and endpoint == "status_update":
        return success
    return 403


CASES = [
    (role, endpoint, target)
    for role in ("admin", "manager", "provider", "stakeholder")
    for endpoint in ENDPOINTS
    for target in ("own", "other")
]


@pytest.mark.parametrize(("role", "endpoint", "target"), CASES)
def test_role_endpoint_organisation_matrix(api, world, role, endpoint, target):
    method, template, body = ENDPOINTS[endpoint]
    path = template.format(
        e=world.engagements[target],
        m=world.milestones[target],
        i=world.items[target],
        t=world.members[target],
    )
    response = api.call(method, path, role, json=body)
    assert response.status_code == expected(role, endpoint, target), response.get_json()


@pytest.mark.parametrize(
    ("role", "status"), [("admin", 201), ("manager", 201), ("provider", 403), ("stakeholder", 403)]
)
def test_only_the_client_side_creates_engagements(api, world, role, status):
    body = {"title": "New", "provider_id": 1, "structure": "pod_2"}
    assert api.post("/engagements", role, json=body).status_code == status


@pytest.mark.parametrize("role", ["provider", "stakeholder"])
def test_provider_and_stakeholder_never_see_cost_or_internal_notes(api, world, role):
    path = f"/engagements/{world.engagements['own']}"
    api.patch(path, "manager", json={"internal_notes": "secret", "monthly_cost": 45000})
    one = api.get(path, role).get_json()
    listed = api.get("/engagements", role).get_json()["items"]
    timeline = api.get(f"{path}/audit", role).get_data(as_text=True)
    for body in [one, *listed]:
        assert not {"monthly_cost", "currency", "internal_notes"} & set(body)
    assert "secret" not in timeline and "45000" not in timeline


def test_client_side_sees_cost_and_internal_notes(api, world):
    path = f"/engagements/{world.engagements['own']}"
    api.patch(path, "manager", json={"internal_notes": "secret", "monthly_cost": 45000})
    body = api.get(path, "manager").get_json()
    assert body["internal_notes"] == "secret" and body["monthly_cost"] == 45000


@pytest.mark.parametrize(
    ("role", "titles"),
    [
        ("admin", {"Fraud model", "Vision QA"}),
        ("manager", {"Fraud model", "Vision QA"}),
        ("provider", {"Fraud model"}),
        ("stakeholder", {"Fraud model"}),
    ],
)
def test_list_shows_only_what_the_role_may_see(api, world, role, titles):
    body = api.get("/engagements", role).get_json()
    assert {item["title"] for item in body["items"]} == titles
    assert body["meta"]["total"] == len(titles)


def test_provider_cannot_learn_another_providers_engagement_through_filters(api, world):
    other = api.get(f"/engagements/{world.engagements['other']}", "admin").get_json()
    body = api.get(f"/engagements?provider_id={other['provider']['id']}", "provider").get_json()
    assert body["items"] == [] and body["meta"]["total"] == 0
