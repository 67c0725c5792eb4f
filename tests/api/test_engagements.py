"""Engagement list (filters, sort, pages, constant queries), create, update, ETag/If-Match."""

from datetime import date, timedelta

import pytest

from tests.api.conftest import assert_error
from tests.factories import make_engagement, make_user
from tracker.extensions import db
from tracker.models import Engagement, WorkflowTimer
from tracker.services.workflow.transitions import start_of_day


def _provider_id(api, world):
    return api.get(f"/engagements/{world.engagements['own']}", "admin").get_json()["provider"]["id"]


def _bulk(app, count: int, **fields):
    with app.app_context():
        owner = make_user("manager")
        for n in range(count):
            make_engagement(owner, title=f"Bulk {n:03d}", **fields)
        db.session.remove()


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("state=discovery", {"Fraud model", "Vision QA"}),
        ("state=trial", set()),
        ("q=fraud", {"Fraud model"}),
        ("q=VISION", {"Vision QA"}),
        ("q=%25", set()),
        ("health=green", {"Fraud model", "Vision QA"}),
        ("health=red", set()),
    ],
)
def test_list_filters(api, world, query, titles):
    body = api.get(f"/engagements?{query}", "manager").get_json()
    assert {item["title"] for item in body["items"]} == titles


def test_list_filters_by_provider_and_owner(api, world):
    body = api.get(f"/engagements?provider_id={_provider_id(api, world)}", "admin").get_json()
    assert [item["title"] for item in body["items"]] == ["Fraud model"]
    owner = api.get(f"/engagements/{world.engagements['own']}", "admin").get_json()["owner"]["id"]
    assert api.get(f"/engagements?owner_id={owner}", "admin").get_json()["meta"]["total"] == 2
    assert api.get("/engagements?owner_id=99999", "admin").get_json()["meta"]["total"] == 0


def test_health_filter_honours_a_live_override(app, api, world):
    with app.app_context():
        engagement = db.session.get(Engagement, world.engagements["own"])
        engagement.health_override = "red"
        db.session.commit()
    body = api.get("/engagements?health=red", "manager").get_json()
    assert [item["title"] for item in body["items"]] == ["Fraud model"]
    assert body["items"][0]["health"] == "red"


@pytest.mark.parametrize(
    ("sort", "first"), [("title", "Fraud model"), ("-title", "Vision QA"), ("id", "Fraud model")]
)
def test_list_sorts(api, world, sort, first):
    body = api.get(f"/engagements?sort={sort}", "manager").get_json()
    assert body["items"][0]["title"] == first


def test_list_paginates(app, api, world):
    _bulk(app, 5)
    first = api.get("/engagements?sort=title&per_page=3&page=1", "manager").get_json()
    second = api.get("/engagements?sort=title&per_page=3&page=2", "manager").get_json()
    assert first["meta"] == {"page": 1, "per_page": 3, "total": 7, "pages": 3}
    seen = [i["title"] for i in first["items"] + second["items"]]
    assert len(seen) == len(set(seen)) == 6


@pytest.mark.parametrize(
    "query", ["per_page=0", "per_page=101", "page=0", "page=1.5", "sort=cost", "health=blue"]
)
def test_bad_list_arguments_are_422_naming_the_field(api, world, query):
    body = assert_error(api.get(f"/engagements?{query}", "manager"), 422, "validation_failed")
    assert query.split("=")[0] in body["errors"]


@pytest.mark.parametrize("role", ["admin", "provider"])
def test_list_costs_a_constant_number_of_queries(app, api, world, query_counter, role):
    api.get("/engagements", role)  # warm up: token last-used write happens once a minute
    with query_counter() as small:
        assert api.get("/engagements?per_page=2", role).status_code == 200
    _bulk(app, 30, provider="Northwind ML")
    with query_counter() as large:
        body = api.get("/engagements?per_page=100", role).get_json()
    assert len(body["items"]) > 20
    assert large.count == small.count <= 4, large.statements


def test_audit_timeline_costs_a_constant_number_of_queries(app, api, world, query_counter):
    path = f"/engagements/{world.engagements['own']}"
    api.get(f"{path}/audit", "manager")
    with query_counter() as few:
        api.get(f"{path}/audit", "manager")
    for n in range(10):
        api.patch(path, "manager", json={"title": f"Title {n}"})
    with query_counter() as many:
        body = api.get(f"{path}/audit", "manager").get_json()
    assert body["meta"]["total"] >= 11
    assert many.count == few.count


def test_create_returns_201_with_etag_and_audit(api, world):
    body = {"title": "Churn model", "provider_id": _provider_id(api, world), "structure": "pod_4"}
    response = api.post("/engagements", "manager", json=body)
    assert response.status_code == 201
    created = response.get_json()
    assert created["state"] == "discovery" and response.headers["ETag"] == '"v1"'
    timeline = api.get(f"/engagements/{created['id']}/audit", "manager").get_json()
    assert timeline["items"][0]["kind"] == "created"


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"provider_id": 1.0}, "provider_id"),
        ({"provider_id": "1"}, "provider_id"),
        ({"provider_id": True}, "provider_id"),
        ({"provider_id": 2**40}, "provider_id"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "nul\x00"}, "title"),
        ({"discovery_start": "2026-13-01"}, "discovery_start"),
        ({"discovery_start": "tomorrow"}, "discovery_start"),
        ({"monthly_cost": 1e12}, "monthly_cost"),
        ({"monthly_cost": -1}, "monthly_cost"),
        ({"currency": "euro"}, "currency"),
        ({"structure": "pod_9"}, "structure"),
        ({"colour": "red"}, "colour"),
        ({"provider_id": 99999}, "provider_id"),
    ],
)
def test_bad_create_is_422_naming_the_field_and_creates_nothing(api, world, patch, field):
    body = {"title": "New", "provider_id": _provider_id(api, world), "structure": "pod_2"}
    body.update(patch)
    assert_error(api.post("/engagements", "manager", json=body), 422, field=field)
    assert api.get("/engagements", "manager").get_json()["meta"]["total"] == 2


def test_get_sends_an_etag_from_the_version(api, world):
    response = api.get(f"/engagements/{world.engagements['own']}", "manager")
    assert response.headers["ETag"] == f'"v{response.get_json()["version"]}"'


def test_update_with_current_if_match_succeeds_and_moves_the_etag(api, world):
    path = f"/engagements/{world.engagements['own']}"
    tag = api.get(path, "manager").headers["ETag"]
    response = api.patch(path, "manager", json={"title": "New"}, headers={"If-Match": tag})
    assert response.status_code == 200
    assert response.headers["ETag"] != tag and response.get_json()["title"] == "New"


@pytest.mark.parametrize("tag", ['"v0"', '"v99"', "garbage", 'W/"v1"'])
def test_update_with_stale_if_match_is_412_and_changes_nothing(api, world, tag):
    path = f"/engagements/{world.engagements['own']}"
    response = api.patch(path, "manager", json={"title": "Lost"}, headers={"If-Match": tag})
    assert_error(response, 412, "stale_version")
    assert api.get(path, "manager").get_json()["title"] == "Fraud model"


def test_second_writer_with_the_old_etag_loses(api, world):
    path = f"/engagements/{world.engagements['own']}"
    tag = api.get(path, "manager").headers["ETag"]
    first = api.patch(path, "admin", json={"title": "A"}, headers={"If-Match": tag})
    assert first.status_code == 200
    late = api.patch(path, "manager", json={"title": "B"}, headers={"If-Match": tag})
    assert_error(late, 412)
    assert api.get(path, "manager").get_json()["title"] == "A"


def test_if_match_star_and_no_header_mean_any_version(api, world):
    path = f"/engagements/{world.engagements['own']}"
    star = api.patch(path, "manager", json={"title": "A"}, headers={"If-Match": "*"})
    assert star.status_code == 200
    assert api.patch(path, "manager", json={"title": "B"}).status_code == 200


def _documented_cost_maximum(api) -> float:
    spec = api.client.get("/api/v1/openapi.json").get_json()
    return spec["components"]["schemas"]["EngagementWrite"]["properties"]["monthly_cost"]["maximum"]


def test_monthly_cost_at_the_documented_maximum_is_stored_exactly(api, world, app):
    maximum = _documented_cost_maximum(api)
    body = {"title": "At the cap", "provider_id": _provider_id(api, world), "structure": "pod_2"}
    response = api.post("/engagements", "manager", json={**body, "monthly_cost": maximum})
    assert response.status_code == 201, response.get_data(as_text=True)
    with app.app_context():
        stored = db.session.get(Engagement, response.get_json()["id"]).monthly_cost
    assert str(stored) == "9999999999.99"


def test_monthly_cost_a_cent_above_the_maximum_is_422_naming_the_field(api, world):
    over = round(_documented_cost_maximum(api) + 0.01, 2)
    body = {"title": "Over", "provider_id": _provider_id(api, world), "structure": "pod_2"}
    body["monthly_cost"] = over
    assert_error(api.post("/engagements", "manager", json=body), 422, field="monthly_cost")
    assert api.get("/engagements", "manager").get_json()["meta"]["total"] == 2


def _into_trial(app, engagement_id):
    """Put the engagement in a running trial with the review timer entering it sets."""
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        engagement.state = "trial"
        engagement.trial_start = engagement.period_start = date.today()
        engagement.trial_end = engagement.period_end = date.today() + timedelta(days=90)
        db.session.add(
            WorkflowTimer(
                engagement_id=engagement_id,
                event="begin_review",
                from_state="trial",
                due_at=start_of_day(engagement.trial_end),
            )
        )
        db.session.commit()
        return engagement.trial_end


def _pending_due(app, engagement_id):
    with app.app_context():
        return db.session.scalars(
            db.select(WorkflowTimer.due_at).where(
                WorkflowTimer.engagement_id == engagement_id, WorkflowTimer.status == "pending"
            )
        ).all()


def test_the_trial_end_moves_by_an_approved_change_request_and_its_review_timer_follows(
    app, api, world
):
    """In a trial the end date is contracted (issue 31): a direct PATCH is refused and
    changes nothing; an approved change request moves it, and the review timer with it."""
    eid = world.engagements["own"]
    end = _into_trial(app, eid)
    shorter = end - timedelta(days=30)
    body = {"trial_end": shorter.isoformat(), "period_end": shorter.isoformat()}
    refused = api.patch(f"/engagements/{eid}", "manager", json=body)
    assert_error(refused, 409, "change_request_required", field="trial_end")
    assert api.get(f"/engagements/{eid}", "manager").get_json()["trial_end"] == end.isoformat()
    change = {"target": "engagement", "field": "period_end", "to": shorter.isoformat()}
    raised = api.post(
        f"/engagements/{eid}/change-requests",
        "provider",
        json={"changes": [change], "why": "The data arrived early"},
    )
    assert raised.status_code == 201, raised.get_data(as_text=True)
    approved = api.post(f"/change-requests/{raised.get_json()['id']}/approve", "manager")
    assert approved.status_code == 200, approved.get_data(as_text=True)
    assert api.get(f"/engagements/{eid}", "manager").get_json()["trial_end"] == shorter.isoformat()
    with app.app_context():
        assert _pending_due(app, eid) == [start_of_day(shorter)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"trial_end": "2020-01-01"}, "trial_end"),  # before the trial starts
        ({"period_end": None}, "period_end"),
    ],
)
def test_a_bad_date_move_is_422_naming_the_field_and_changes_nothing(app, api, world, body, field):
    eid = world.engagements["own"]
    _into_trial(app, eid)
    before = _pending_due(app, eid)
    assert_error(api.patch(f"/engagements/{eid}", "manager", json=body), 422, field=field)
    assert _pending_due(app, eid) == before


def test_a_period_date_not_set_yet_cannot_be_patched(api, world):
    eid = world.engagements["own"]  # still in discovery: no trial dates
    response = api.patch(f"/engagements/{eid}", "manager", json={"trial_end": "2027-01-01"})
    assert_error(response, 422, field="trial_end")
