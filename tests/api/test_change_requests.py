"""Change requests (issue 31) through the API: the refusal of direct edits in the states the
definition names, raising, deciding, staleness, the cost threshold, permissions and drift."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tests.api.conftest import assert_error
from tests.factories import add_metric, add_target
from tests.support.scheduler import day_pinned
from tracker.extensions import db
from tracker.models import (
    AuditEvent,
    ChangeRequest,
    Engagement,
    Milestone,
    MilestoneTarget,
    TeamMember,
    User,
)

TODAY = date.today()


@pytest.fixture(autouse=True)
def _on_today(app):
    """The app's clock on this module's TODAY, even if the run crosses midnight UTC."""
    day_pinned(app, TODAY)


def _into_trial(app, engagement_id, *, monthly_cost=20000):
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        engagement.state = "trial"
        engagement.trial_start = engagement.period_start = TODAY
        engagement.trial_end = engagement.period_end = TODAY + timedelta(days=90)
        engagement.monthly_cost = monthly_cost
        db.session.commit()


@pytest.fixture
def trial(app, world):
    """Both engagements in a running trial; returns the own engagement's id."""
    for key in ("own", "other"):
        _into_trial(app, world.engagements[key])
    return world.engagements["own"]


def _raise(api, eid, changes, role="provider", **extra):
    body = {"changes": changes, "why": "The labelled data arrived three weeks late", **extra}
    return api.post(f"/engagements/{eid}/change-requests", role, json=body)


def _due(world, days):
    return (TODAY + timedelta(days=days)).isoformat()


def _named(errors: dict, dotted: str) -> bool:
    """Whether `errors` names the field, flat ("changes.0.id", the service's) or nested
    ({"changes": {"0": {"id": ...}}}, the schema's)."""
    if dotted in errors:
        return True
    node = errors
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _audit_kinds(app, eid):
    with app.app_context():
        return db.session.scalars(
            db.select(AuditEvent.kind)
            .where(AuditEvent.engagement_id == eid)
            .order_by(AuditEvent.id)
        ).all()


# --- 1, 2: what needs a request, and the refusal of every direct path -------------------


def test_every_direct_edit_of_a_contracted_field_in_a_trial_is_refused_and_changes_nothing(
    app, api, world, trial
):
    mid, member = world.milestones["own"], world.members["own"]
    with app.app_context():
        before = db.session.get(Milestone, mid).due_date.isoformat()
    refusals = [
        (
            api.patch(f"/engagements/{trial}", "manager", json={"monthly_cost": 25000}),
            "monthly_cost",
        ),
        (
            api.patch(f"/engagements/{trial}", "manager", json={"trial_end": _due(world, 120)}),
            "trial_end",
        ),
        (
            api.patch(f"/milestones/{mid}", "manager", json={"due_date": _due(world, 50)}),
            "due_date",
        ),
        (
            api.patch(f"/milestones/{mid}", "manager", json={"success_criteria": "AUC 0.9"}),
            "success_criteria",
        ),
        (
            api.post(
                f"/engagements/{trial}/milestones",
                "manager",
                json={"title": "Extra", "due_date": _due(world, 40)},
            ),
            "milestone",
        ),
        (api.delete(f"/milestones/{mid}", "manager"), "milestone"),
        (api.patch(f"/team-members/{member}", "manager", json={"allocation": 50}), "allocation"),
        (
            api.patch(f"/team-members/{member}", "manager", json={"end_date": _due(world, 10)}),
            "end_date",
        ),
    ]
    for response, field in refusals:
        body = assert_error(response, 409, "change_request_required", field=field)
        assert "change request" in body["message"]
    with app.app_context():
        engagement = db.session.get(Engagement, trial)
        assert engagement.monthly_cost == 20000
        assert engagement.trial_end == TODAY + timedelta(days=90)
        milestone = db.session.get(Milestone, mid)
        assert (milestone.due_date.isoformat(), milestone.removed_at) == (before, None)
        assert milestone.success_criteria == "Metric +5%"
        assert (
            db.session.scalar(
                db.select(db.func.count(Milestone.id)).where(Milestone.engagement_id == trial)
            )
            == 1
        )
        row = db.session.get(TeamMember, member)
        assert (row.allocation, row.end_date) == (100, None)


def test_a_target_set_directly_in_a_trial_is_refused(app, api, world, trial):
    with app.app_context():
        metric = add_metric(db.session.get(Engagement, trial))
        add_target(db.session.get(Milestone, world.milestones["own"]), metric, 0.8)
        metric_id = metric.id
    path = f"/milestones/{world.milestones['own']}/targets/{metric_id}"
    assert_error(
        api.call("PUT", path, "manager", json={"target": 0.7}),
        409,
        "change_request_required",
        "target",
    )
    assert_error(api.delete(path, "manager"), 409, "change_request_required", "target")
    with app.app_context():
        target_id = db.session.scalar(db.select(MilestoneTarget.id))
    change = {"target": "milestone_target", "id": target_id, "field": "target", "to": 0.75}
    rid = _raise(api, trial, [change]).get_json()["id"]
    assert api.post(f"/change-requests/{rid}/approve", "manager").status_code == 200
    with app.app_context():
        assert db.session.get(MilestoneTarget, target_id).target == 0.75


def test_fields_that_are_not_contracted_stay_direct_in_a_trial_and_all_stay_direct_in_discovery(
    app, api, world, trial
):
    mid = world.milestones["own"]
    assert api.patch(f"/milestones/{mid}", "manager", json={"title": "Renamed"}).status_code == 200
    assert (
        api.patch(f"/engagements/{trial}", "manager", json={"title": "New title"}).status_code
        == 200
    )
    other = world.engagements["other"]
    with app.app_context():
        db.session.get(Engagement, other).state = "discovery"
        db.session.commit()
    changed = api.patch(f"/engagements/{other}", "manager", json={"monthly_cost": 31000})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    moved = api.patch(
        f"/milestones/{world.milestones['other']}", "manager", json={"due_date": _due(world, 45)}
    )
    assert moved.status_code == 200


# --- 3: the request ----------------------------------------------------------------------


def test_an_approved_request_applies_every_change_in_one_audit_entry_naming_it(
    app, api, world, trial
):
    mid, member = world.milestones["own"], world.members["own"]
    changes = [
        {"target": "milestone", "id": mid, "field": "due_date", "to": _due(world, 51)},
        {"target": "milestone", "id": mid, "field": "success_criteria", "to": "AUC 0.85"},
        {"target": "team_member", "id": member, "field": "allocation", "to": 60},
        {
            "target": "milestone",
            "field": "add",
            "to": {"title": "Day 75", "due_date": _due(world, 75)},
        },
    ]
    raised = _raise(api, trial, changes, value="Fraud losses measured on real data")
    assert raised.status_code == 201, raised.get_data(as_text=True)
    body = raised.get_json()
    assert body["state"] == "proposed"
    assert [c["from"] for c in body["changes"]] == [_due(world, 30), "Metric +5%", 100, None]
    assert body["schedule_delta_days"] == 21  # the due date's move, when none is stated
    before = len(_audit_kinds(app, trial))
    approved = api.post(f"/change-requests/{body['id']}/approve", "manager")
    assert approved.status_code == 200, approved.get_data(as_text=True)
    assert approved.get_json()["state"] == "approved"
    assert approved.get_json()["decided_by"]["id"] == world.users["manager"]
    with app.app_context():
        milestone = db.session.get(Milestone, mid)
        assert (milestone.due_date.isoformat(), milestone.success_criteria) == (
            _due(world, 51),
            "AUC 0.85",
        )
        assert db.session.get(TeamMember, member).allocation == 60
        titles = db.session.scalars(
            db.select(Milestone.title).where(Milestone.engagement_id == trial)
        ).all()
        assert "Day 75" in titles
        entries = db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.engagement_id == trial).order_by(AuditEvent.id)
        ).all()[before:]
    assert [e.kind for e in entries] == ["change_request_approved"]
    assert entries[0].data["change_request_id"] == body["id"]
    assert len(entries[0].data["changes"]) == 4


def test_a_stale_request_is_refused_409_and_nothing_is_applied(app, api, world, trial):
    mid, member = world.milestones["own"], world.members["own"]
    changes = [
        {"target": "team_member", "id": member, "field": "allocation", "to": 60},
        {"target": "milestone", "id": mid, "field": "due_date", "to": _due(world, 51)},
    ]
    rid = _raise(api, trial, changes).get_json()["id"]
    with app.app_context():  # the due date moved since (e.g. by another approved request)
        db.session.get(Milestone, mid).due_date = TODAY + timedelta(days=33)
        db.session.commit()
    body = assert_error(
        api.post(f"/change-requests/{rid}/approve", "manager"), 409, "change_request_stale"
    )
    assert "changes.1.from" in body["errors"]
    with app.app_context():
        assert db.session.get(TeamMember, member).allocation == 100
        assert db.session.get(ChangeRequest, rid).state == "proposed"
    assert "change_request_approved" not in _audit_kinds(app, trial)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"target": "milestone", "field": "title", "to": "x"}, "changes.0.field"),
        ({"target": "engagement", "field": "title", "to": "x"}, "changes.0.field"),
        ({"target": "galaxy", "field": "due_date", "to": "x"}, "changes.0.target"),
        (
            {"target": "milestone", "id": None, "field": "due_date", "to": "2027-01-01"},
            "changes.0.id",
        ),
        ({"target": "milestone", "id": "M", "field": "due_date", "to": "soon"}, "changes.0.to"),
        ({"target": "team_member", "id": "T", "field": "allocation", "to": 0}, "changes.0.to"),
        ({"target": "team_member", "id": "T", "field": "allocation", "to": 100}, "changes.0.to"),
    ],
)
def test_bad_changes_are_422_naming_the_change(app, api, world, trial, change, field):
    ids = {"M": world.milestones["own"], "T": world.members["own"]}
    change = {k: ids.get(v, v) if k == "id" else v for k, v in change.items()}
    response = _raise(api, trial, [change], role="manager")
    body = assert_error(response, 422, "validation_failed")
    assert _named(body["errors"], field), body
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(ChangeRequest.id))) == 0


def test_a_change_to_another_engagements_milestone_is_422_naming_its_id(app, api, world, trial):
    change = {"target": "milestone", "id": world.milestones["other"], "field": "due_date"}
    change["to"] = _due(world, 50)
    assert_error(_raise(api, trial, [change], role="manager"), 422, field="changes.0.id")


def test_a_field_that_needs_no_request_in_this_state_is_422(app, api, world, trial):
    other = world.engagements["other"]
    with app.app_context():
        db.session.get(Engagement, other).state = "discovery"
        db.session.commit()
    change = {"target": "engagement", "field": "monthly_cost", "to": 1000}
    body = assert_error(_raise(api, other, [change], role="manager"), 422, field="changes.0.field")
    assert "edit it directly" in body["errors"]["changes.0.field"][0]


def test_a_cost_delta_that_is_not_a_number_is_422_naming_it(api, world, trial):
    change = {"target": "milestone", "id": world.milestones["own"], "field": "due_date"}
    change["to"] = _due(world, 50)
    response = _raise(api, trial, [change], cost_delta_monthly="a lot")
    assert_error(response, 422, "validation_failed", field="cost_delta_monthly")


def test_whoever_raised_it_may_not_approve_and_approving_twice_is_409(app, api, world, trial):
    change = {"target": "milestone", "id": world.milestones["own"], "field": "due_date"}
    change["to"] = _due(world, 50)
    rid = _raise(api, trial, [change], role="manager").get_json()["id"]
    assert_error(api.post(f"/change-requests/{rid}/approve", "manager"), 403, field="raised_by")
    assert_error(api.post(f"/change-requests/{rid}/approve", "provider"), 403)
    assert api.post(f"/change-requests/{rid}/approve", "admin").status_code == 200
    assert_error(api.post(f"/change-requests/{rid}/approve", "admin"), 409, field="state")
    assert _audit_kinds(app, trial).count("change_request_approved") == 1


def test_a_cost_increase_above_the_threshold_needs_an_admin(app, api, world, trial):
    change = {"target": "team_member", "id": world.members["own"], "field": "allocation", "to": 50}
    above = app.config["CHANGE_REQUEST_ADMIN_ABOVE"] + 1
    rid = _raise(api, trial, [change], cost_delta_monthly=1000, cost_delta_total=above).get_json()[
        "id"
    ]
    assert api.get(f"/change-requests/{rid}", "manager").get_json()["needs_admin"] is True
    body = assert_error(api.post(f"/change-requests/{rid}/approve", "manager"), 403)
    assert "cost_delta_total" in body["errors"]
    assert api.post(f"/change-requests/{rid}/approve", "admin").status_code == 200


def test_reject_needs_a_reason_and_withdraw_is_for_whoever_raised_it(app, api, world, trial):
    change = {"target": "milestone", "id": world.milestones["own"], "field": "due_date"}
    change["to"] = _due(world, 50)
    first = _raise(api, trial, [change]).get_json()["id"]
    assert_error(
        api.post(f"/change-requests/{first}/reject", "manager", json={}), 422, field="reason"
    )
    rejected = api.post(f"/change-requests/{first}/reject", "manager", json={"reason": "Not now"})
    assert rejected.get_json()["state"] == "rejected"
    assert rejected.get_json()["decision_reason"] == "Not now"
    second = _raise(api, trial, [change]).get_json()["id"]
    assert_error(api.post(f"/change-requests/{second}/withdraw", "manager"), 403, field="raised_by")
    assert (
        api.post(f"/change-requests/{second}/withdraw", "provider").get_json()["state"]
        == "withdrawn"
    )
    assert_error(api.post(f"/change-requests/{second}/approve", "manager"), 409, field="state")
    with app.app_context():
        assert db.session.get(Milestone, world.milestones["own"]).due_date == TODAY + timedelta(
            days=30
        )


def test_who_may_see_and_raise(app, api, world, trial):
    change = {"target": "milestone", "id": world.milestones["other"], "field": "due_date"}
    change["to"] = _due(world, 50)
    other = world.engagements["other"]
    assert_error(_raise(api, other, [change], role="provider"), 404)  # not its engagement
    rid = _raise(api, other, [change], role="manager").get_json()["id"]
    assert_error(api.get(f"/change-requests/{rid}", "provider"), 404)
    assert_error(api.post(f"/change-requests/{rid}/approve", "provider"), 404)
    assert_error(api.get(f"/engagements/{other}/change-requests", "provider"), 404)
    assert_error(api.get(f"/engagements/{other}/drift", "provider"), 404)
    own = {"target": "milestone", "id": world.milestones["own"], "field": "due_date"}
    own["to"] = _due(world, 50)
    assert_error(_raise(api, trial, [own], role="stakeholder"), 403)
    assert_error(api.get(f"/change-requests/{rid}"), 401)


def test_providers_see_no_cost_figures_and_may_not_propose_the_monthly_cost(app, api, world, trial):
    cost = {"target": "engagement", "field": "monthly_cost", "to": 24000}
    assert_error(_raise(api, trial, [cost], role="provider"), 422, field="changes.0.field")
    rid = _raise(api, trial, [cost], role="manager", cost_delta_monthly=4000).get_json()["id"]
    seen = api.get(f"/change-requests/{rid}", "provider").get_json()
    assert (seen["changes"][0]["from"], seen["changes"][0]["to"], seen["cost_delta_monthly"]) == (
        None,
        None,
        None,
    )
    mine = api.get(f"/change-requests/{rid}", "manager").get_json()
    assert (mine["changes"][0]["from"], mine["changes"][0]["to"]) == ("20000.00", "24000.00")
    assert api.post(f"/change-requests/{rid}/approve", "admin").status_code == 200
    provider_trail = api.get(f"/engagements/{trial}/audit", "provider")
    assert provider_trail.status_code == 200
    assert "change_request_approved_cost" not in provider_trail.get_data(as_text=True)
    assert "change_request_approved_cost" in api.get(
        f"/engagements/{trial}/audit", "manager"
    ).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Engagement, trial).monthly_cost == 24000


# --- 4: drift -------------------------------------------------------------------------------


def test_drift_adds_up_approved_requests_and_turns_health_amber_naming_them(app, api, world, trial):
    mid = world.milestones["own"]
    empty = api.get(f"/engagements/{trial}/drift", "manager").get_json()
    assert (empty["slip_days"], empty["cost_added"], empty["requests"]) == (0, 0, [])
    ids = []
    for days, slip in ((45, 15), (60, 10)):
        change = {"target": "milestone", "id": mid, "field": "due_date", "to": _due(world, days)}
        rid = _raise(
            api, trial, [change], schedule_delta_days=slip, cost_delta_monthly=500
        ).get_json()["id"]
        assert api.post(f"/change-requests/{rid}/approve", "manager").status_code == 200
        ids.append(rid)
        health = api.get(f"/engagements/{trial}", "manager").get_json()
        codes = [r["code"] for r in health["health_reasons"]]
        assert ("drift" in codes) == (len(ids) == 2), codes  # 15 days is within 21; 25 is past
    drift = api.get(f"/engagements/{trial}/drift", "manager").get_json()
    assert drift["slip_days"] == 25
    assert [r["id"] for r in drift["requests"]] == ids
    assert float(drift["cost_added_monthly"]) == 1000.0
    reason = next(r for r in health["health_reasons"] if r["code"] == "drift")
    assert reason["level"] == "amber" and health["health"] in ("amber", "red")
    assert all(f"#{rid}" in reason["message"] for rid in ids)
    assert "25 days of slip (over 21)" in reason["message"]
    provider = api.get(f"/engagements/{trial}/drift", "provider").get_json()
    assert provider["slip_days"] == 25 and provider["cost_added"] is None


def test_a_cost_share_past_the_rule_turns_amber_too(app, api, world, trial):
    change = {"target": "team_member", "id": world.members["own"], "field": "allocation", "to": 80}
    # 20,000 a month before; +4,000 is 20% (over 15%).
    rid = _raise(api, trial, [change], cost_delta_monthly=4000, schedule_delta_days=0).get_json()[
        "id"
    ]
    api.post(f"/change-requests/{rid}/approve", "manager")
    health = api.get(f"/engagements/{trial}", "manager").get_json()
    reason = next(r for r in health["health_reasons"] if r["code"] == "drift")
    assert "added to the monthly cost (over 15%)" in reason["message"]


# --- 6: webhooks ----------------------------------------------------------------------------


def test_proposed_approved_and_rejected_are_webhook_events_without_cost_figures(
    app, api, world, trial
):
    from tracker.models import WebhookEvent
    from tracker.services.messaging import webhooks

    with app.app_context():
        app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = True
        admin = db.session.get(User, world.users["admin"])
        webhooks.create_endpoint(
            admin, {"url": "http://127.0.0.1:9/h", "events": list(webhooks.EVENT_TYPES)}
        )
    change = {"target": "milestone", "id": world.milestones["own"], "field": "due_date"}
    change["to"] = _due(world, 50)
    first = _raise(api, trial, [change], cost_delta_monthly=900).get_json()["id"]
    api.post(f"/change-requests/{first}/approve", "manager")
    change["to"] = _due(world, 60)
    second = _raise(api, trial, [change]).get_json()["id"]
    api.post(f"/change-requests/{second}/reject", "manager", json={"reason": "No"})
    with app.app_context():
        events = db.session.scalars(
            db.select(WebhookEvent)
            .where(WebhookEvent.type.like("change_request.%"))
            .order_by(WebhookEvent.id)
        ).all()
        found = [(e.type, e.payload["data"]["change_request"]["id"]) for e in events]
        leaves = [leaf for e in events for leaf in _leaves(e.payload)]
    assert found == [
        ("change_request.proposed", first),
        ("change_request.approved", first),
        ("change_request.proposed", second),
        ("change_request.rejected", second),
    ]
    # No key names a cost and no value is the figure (900 a month), as a number or in words;
    # a timestamp's microseconds may well hold the digits 900.
    assert not [(key, value) for key, value in leaves if "cost" in key.lower()]
    assert not [
        (key, value)
        for key, value in leaves
        if value == 900 or (isinstance(value, str) and re.search(r"(?<![\d.:])900(?!\d)", value))
    ]


def _leaves(value, key: str = "") -> list[tuple[str, object]]:
    """Every (key path, scalar) of a JSON document."""
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{key}.{k}")]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v, key)]
    return [(key, value)]
