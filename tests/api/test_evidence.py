"""/api/v1 evidence: metrics, targets, measurements, batches, ingest tokens, verdict reasons."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import polars
import pytest

from tests.api.conftest import assert_error
from tracker.extensions import db
from tracker.models import AuditEvent, IngestToken, Measurement

LATENCY = {"name": "p95 latency", "kind": "latency", "unit": "ms", "direction": "lower"}


def _metric(api, world, key="own", **fields):
    body = {**LATENCY, "baseline": 2600, **fields}
    response = api.post(f"/engagements/{world.engagements[key]}/metrics", "manager", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _target(api, world, metric_id, value, key="own"):
    path = f"/milestones/{world.milestones[key]}/targets/{metric_id}"
    return api.call("PUT", path, "manager", json={"target": value})


def _ago(days=0, hours=0):
    return (datetime.now(UTC) - timedelta(days=days, hours=hours)).isoformat()


def _measure(api, metric_id, value, role="provider", **fields):
    body = {"value": value, **fields}
    return api.post(f"/metrics/{metric_id}/measurements", role, json=body)


def _raw(api, method, path, role, text):
    return api.call(method, path, role, data=text, content_type="application/json")


def _count(app, model=Measurement):
    with app.app_context():
        return db.session.query(model).count()


def test_manager_defines_a_metric_and_every_change_is_audited(api, world, app):
    metric = _metric(api, world)
    assert metric["direction"] == "lower" and metric["baseline"] == 2600
    one = f"/metrics/{metric['id']}"
    tag = api.get(one, "manager").headers["ETag"]
    patched = api.patch(one, "manager", json={"baseline": 2500}, headers={"If-Match": tag})
    assert patched.status_code == 200 and patched.get_json()["baseline"] == 2500
    stale = api.patch(one, "manager", json={"unit": "s"}, headers={"If-Match": tag})
    assert_error(stale, 412)
    with app.app_context():
        kinds = [e.kind for e in db.session.query(AuditEvent).order_by(AuditEvent.id)]
        edited = db.session.query(AuditEvent).filter_by(kind="metric_edited").one()
        assert edited.data["changed"] == {"baseline": [2600, 2500]}
    assert "metric_added" in kinds and "metric_edited" in kinds
    assert api.delete(one, "manager").status_code == 204
    assert_error(api.get(one, "manager"), 404)


@pytest.mark.parametrize(
    ("role", "status"), [("provider", 403), ("stakeholder", 403), ("admin", 201)]
)
def test_only_the_client_side_defines_metrics(api, world, role, status):
    path = f"/engagements/{world.engagements['own']}/metrics"
    assert api.post(path, role, json=LATENCY).status_code == status


def test_a_metric_of_an_engagement_the_caller_cannot_see_answers_404(api, world):
    metric = _metric(api, world, key="other")
    assert_error(api.get(f"/metrics/{metric['id']}", "provider"), 404)
    assert_error(api.get(f"/engagements/{world.engagements['other']}/metrics", "provider"), 404)
    assert_error(_measure(api, metric["id"], 1.0), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**LATENCY, "kind": "vibes"}, "kind"),
        ({**LATENCY, "direction": "sideways"}, "direction"),
        ({**LATENCY, "baseline": "fast"}, "baseline"),
        ({**LATENCY, "name": ""}, "name"),
    ],
)
def test_bad_metric_fields_are_422_naming_the_field(api, world, body, field):
    path = f"/engagements/{world.engagements['own']}/metrics"
    assert_error(api.post(path, "manager", json=body), 422, field=field)
    assert api.get(path, "manager").get_json() == []


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused_as_baseline_value_and_target(api, world, app, literal):
    path = f"/engagements/{world.engagements['own']}/metrics"
    text = json.dumps(LATENCY)[:-1] + f', "baseline": {literal}}}'
    assert_error(_raw(api, "POST", path, "manager", text), 422, field="baseline")
    metric = _metric(api, world)
    measure = f"/metrics/{metric['id']}/measurements"
    body = f'{{"value": {literal}}}'
    assert_error(_raw(api, "POST", measure, "provider", body), 422, field="value")
    target = f"/milestones/{world.milestones['own']}/targets/{metric['id']}"
    assert_error(_raw(api, "PUT", target, "manager", f'{{"target": {literal}}}'), 422)
    assert _count(app) == 0


def test_a_target_on_another_engagements_metric_is_422_naming_metric_id(api, world):
    foreign = _metric(api, world, key="other")
    assert_error(_target(api, world, foreign["id"], 2000), 422, field="metric_id")


def test_the_milestone_json_carries_targets_their_status_and_the_suggested_verdict(api, world):
    metric = _metric(api, world)
    assert _target(api, world, metric["id"], 2000).get_json()["status"] == "no_data"
    one = f"/milestones/{world.milestones['own']}"
    body = api.get(one, "manager").get_json()
    assert body["targets"][0] | {"latest_at": None} == {
        "metric_id": metric["id"],
        "name": "p95 latency",
        "unit": "ms",
        "direction": "lower",
        "target": 2000.0,
        "latest": None,
        "latest_at": None,
        "status": "no_data",
    }
    assert body["suggested_verdict"]["verdict"] == "undecided"
    assert _measure(api, metric["id"], 2300, measured_at=_ago(days=2)).status_code == 201
    body = api.get(one, "manager").get_json()
    assert (body["targets"][0]["latest"], body["targets"][0]["status"]) == (2300, "not_met")
    assert body["suggested_verdict"]["verdict"] == "undecided"  # not due yet
    assert "2,300 ms against ≤ 2,000 ms" in body["suggested_verdict"]["reasons"][0]
    assert _measure(api, metric["id"], 1950).status_code == 201
    body = api.get(one, "provider").get_json()
    assert body["targets"][0]["status"] == "met"
    assert body["suggested_verdict"]["verdict"] == "met"
    listed = api.get(f"/engagements/{world.engagements['own']}/milestones", "manager").get_json()
    assert listed[0]["suggested_verdict"]["verdict"] == "met"


def test_a_correction_supersedes_and_keeps_the_history(api, world):
    metric = _metric(api, world)
    _target(api, world, metric["id"], 2000)
    first = _measure(api, metric["id"], 1900, measured_at=_ago(days=1)).get_json()
    lacking = _measure(api, metric["id"], 2100, supersedes_id=first["id"])
    assert_error(lacking, 422, field="correction_reason")
    fixed = _measure(
        api, metric["id"], 2100, supersedes_id=first["id"], correction_reason="wrong region"
    )
    assert fixed.status_code == 201 and fixed.get_json()["measured_at"] == first["measured_at"]
    again = _measure(api, metric["id"], 2050, supersedes_id=first["id"], correction_reason="x")
    assert_error(again, 409, field="supersedes_id")
    history = api.get(f"/metrics/{metric['id']}/measurements", "manager").get_json()
    assert sorted(m["value"] for m in history) == [1900, 2100]
    body = api.get(f"/milestones/{world.milestones['own']}", "manager").get_json()
    assert (body["targets"][0]["latest"], body["targets"][0]["status"]) == (2100, "not_met")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"value": "fast"}, "value"),
        ({"value": True}, "value"),
        ({"value": 1.0, "measured_at": "2999-01-01T00:00:00+00:00"}, "measured_at"),
        ({"value": 1.0, "evidence_url": "javascript:alert(1)"}, "evidence_url"),
    ],
)
def test_bad_measurements_are_422_naming_the_field_and_store_nothing(
    api, world, app, fields, field
):
    metric = _metric(api, world)
    response = api.post(f"/metrics/{metric['id']}/measurements", "provider", json=fields)
    assert_error(response, 422, field=field)
    assert _count(app) == 0


def test_a_stakeholder_may_not_record_and_a_closed_engagement_takes_nothing(api, world, app):
    metric = _metric(api, world)
    assert_error(_measure(api, metric["id"], 1.0, role="stakeholder"), 403)
    with app.app_context():
        from tracker.models import Engagement

        db.session.get(Engagement, world.engagements["own"]).closed_at = datetime.now(UTC)
        db.session.commit()
    assert_error(_measure(api, metric["id"], 1.0, role="manager"), 409)
    assert _count(app) == 0


def _batch(api, world, items, role="provider", key="own", headers=None):
    path = f"/engagements/{world.engagements[key]}/measurements"
    return api.post(path, role, json={"measurements": items}, headers=headers or {})


def test_a_batch_is_all_or_nothing_and_names_the_bad_item(api, world, app):
    metric = _metric(api, world)
    items = [{"metric_id": metric["id"], "value": float(i)} for i in range(5)]
    items[3]["measured_at"] = "2999-01-01T00:00:00Z"
    assert_error(_batch(api, world, items), 422, field="measurements.3.measured_at")
    foreign = _metric(api, world, key="other")
    items[3] = {"metric_id": foreign["id"], "value": 1.0}
    assert_error(_batch(api, world, items, role="manager"), 422, field="measurements.3.metric_id")
    assert _count(app) == 0


def test_a_batch_over_1000_is_422_and_stores_nothing(api, world, app):
    metric = _metric(api, world)
    items = [{"metric_id": metric["id"], "value": 1.0}] * 1001
    assert_error(_batch(api, world, items), 422, field="measurements")
    assert _count(app) == 0


def test_a_retried_batch_never_doubles_and_another_body_with_a_key_is_409(api, world, app):
    metric = _metric(api, world)
    items = [
        {"metric_id": metric["id"], "value": 0.9 + i / 100, "idempotency_key": f"run-7-{i}"}
        for i in range(3)
    ]
    first = _batch(api, world, items)
    assert first.status_code == 201 and first.get_json() == {"recorded": 3, "replayed": 0}
    again = _batch(api, world, items)
    assert again.get_json() == {"recorded": 0, "replayed": 3}
    assert _count(app) == 3
    changed = [*items[:2], {**items[2], "value": 0.5}, {"metric_id": metric["id"], "value": 1.0}]
    assert_error(_batch(api, world, changed), 409, field="measurements.2.idempotency_key")
    assert _count(app) == 3  # the fourth, new item was not stored either


def test_the_measurements_csv_parses_with_two_readers_and_neutralises_formulas(api, world):
    metric = _metric(api, world, name="=HYPERLINK(1)")
    _measure(api, metric["id"], 0.91, note="+evil", measured_at=_ago(days=1))
    _measure(api, metric["id"], 0.93)
    response = api.get(f"/engagements/{world.engagements['own']}/measurements.csv", "manager")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["value"] for r in rows] == ["0.91", "0.93"]
    assert rows[0]["metric"] == "'=HYPERLINK(1)" and rows[0]["note"] == "'+evil"
    frame = polars.read_csv(io.BytesIO(response.get_data()), infer_schema=False)
    assert frame.height == 2 and frame["recorded by"].to_list()[0].startswith("Provider")


def test_providers_never_see_cost_metrics(api, world):
    cost = _metric(api, world, name="Cost per 1,000 calls", kind="cost", unit="EUR")
    _metric(api, world)
    seen = api.get(f"/engagements/{world.engagements['own']}/metrics", "provider").get_json()
    assert [m["name"] for m in seen] == ["p95 latency"]
    assert_error(api.get(f"/metrics/{cost['id']}", "provider"), 404)
    _target(api, world, cost["id"], 1.5)
    body = api.get(f"/milestones/{world.milestones['own']}", "provider").get_json()
    assert body["targets"] == []
    assert any("Cost targets count" in r for r in body["suggested_verdict"]["reasons"])


# --- ingest tokens ---------------------------------------------------------------------


def _token(api, world, key="own"):
    path = f"/engagements/{world.engagements[key]}/ingest-tokens"
    response = api.post(path, "manager", json={"name": "nightly-eval"})
    assert response.status_code == 201
    return response.get_json()


def _as_token(api, method, path, secret, **kwargs):
    headers = {"Authorization": f"Bearer {secret}"}
    return api.client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)


def test_an_ingest_token_reads_metrics_and_records_and_nothing_else(api, world, app):
    metric = _metric(api, world)
    created = _token(api, world)
    secret = created["token"]
    own = world.engagements["own"]
    listed = _as_token(api, "GET", f"/engagements/{own}/metrics", secret)
    assert listed.status_code == 200 and listed.get_json()[0]["id"] == metric["id"]
    assert _as_token(api, "GET", f"/metrics/{metric['id']}", secret).status_code == 200
    one = _as_token(
        api, "POST", f"/metrics/{metric['id']}/measurements", secret, json={"value": 2100}
    )
    assert one.status_code == 201 and one.get_json()["recorded_by_label"].startswith("ingest")
    items = {"measurements": [{"metric_id": metric["id"], "value": 2050}]}
    batch = _as_token(api, "POST", f"/engagements/{own}/measurements", secret, json=items)
    assert batch.status_code == 201
    for method, path in [
        ("GET", f"/engagements/{own}"),
        ("GET", f"/metrics/{metric['id']}/measurements"),
        ("GET", f"/milestones/{world.milestones['own']}"),
        ("POST", f"/engagements/{own}/metrics"),
        ("GET", f"/engagements/{own}/ingest-tokens"),
    ]:
        assert_error(_as_token(api, method, path, secret, json=LATENCY), 403)
    assert_error(_as_token(api, "GET", "/me", secret), 401)  # no person is signed in
    other = world.engagements["other"]
    assert_error(_as_token(api, "GET", f"/engagements/{other}/metrics", secret), 404)
    assert_error(
        _as_token(api, "POST", f"/engagements/{other}/measurements", secret, json=items), 404
    )
    assert _count(app) == 2
    with app.app_context():
        token = db.session.get(IngestToken, created["id"])
        assert token.last_used_at is not None and token.token_hash != secret


def test_a_revoked_or_unknown_ingest_token_is_401(api, world):
    created = _token(api, world)
    path = f"/engagements/{world.engagements['own']}/metrics"
    assert _as_token(api, "GET", path, created["token"]).status_code == 200
    assert api.delete(f"/ingest-tokens/{created['id']}", "manager").status_code == 204
    assert_error(_as_token(api, "GET", path, created["token"]), 401)
    assert_error(_as_token(api, "GET", path, "eti_not-a-token"), 401)
    listed = api.get(f"/engagements/{world.engagements['own']}/ingest-tokens", "manager")
    assert listed.get_json()[0]["is_active"] is False and "token" not in listed.get_json()[0]


def test_providers_may_not_create_ingest_tokens(api, world):
    path = f"/engagements/{world.engagements['own']}/ingest-tokens"
    assert_error(api.post(path, "provider", json={"name": "x"}), 403)
    assert_error(
        api.post(
            f"/engagements/{world.engagements['other']}/ingest-tokens",
            "provider",
            json={"name": "x"},
        ),
        404,
    )


# --- verdicts against the evidence ------------------------------------------------------


def test_a_verdict_against_the_evidence_needs_a_reason_kept_in_history_and_audit(api, world, app):
    metric = _metric(api, world)
    _target(api, world, metric["id"], 2000)
    _measure(api, metric["id"], 2300)
    path = f"/milestones/{world.milestones['own']}/updates"
    body = assert_error(api.post(path, "manager", json={"status": "met"}), 422, field="reason")
    assert "2,300 ms" in body["errors"]["reason"][0]
    assert (
        api.get(f"/milestones/{world.milestones['own']}", "manager").get_json()["status"]
        == "planned"
    )
    reason = "Latency measured on the old cluster; the new one is live since Monday"
    given = api.post(path, "manager", json={"status": "met", "reason": reason})
    assert given.status_code == 201 and given.get_json()["reason"] == reason
    assert api.get(path, "provider").get_json()[0]["reason"] == reason
    with app.app_context():
        entry = db.session.query(AuditEvent).filter_by(kind="milestone_verdict").one()
        assert entry.reason == reason and "2,300 ms" in entry.data["against_evidence"]


def test_a_verdict_with_the_evidence_needs_no_reason(api, world):
    metric = _metric(api, world)
    _target(api, world, metric["id"], 2000)
    _measure(api, metric["id"], 1900)
    path = f"/milestones/{world.milestones['own']}/updates"
    assert_error(api.post(path, "manager", json={"status": "missed"}), 422, field="reason")
    assert api.post(path, "manager", json={"status": "met"}).status_code == 201
