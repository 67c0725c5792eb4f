"""The OpenAPI document states what the server checks (issue 28 item 5).

Three ways of holding the two together: an independent JSON Schema validator
(jsonschema_rs, Rust's regex engine) reads the document's rules and agrees with the
server on bodies either side of each rule; the webhook URL's pattern and the server's
check accept and refuse the same strings; and schema-valid bodies generated from the
document for the operations the fuzzer flagged are refused only for the rules a schema
cannot state (a row that must exist, a stale If-Match, a state's transitions).
"""

from __future__ import annotations

import collections
import copy
import re

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.api.conftest import ApiClient, assert_error
from tracker.errors import ValidationFailed
from tracker.schemas.webhook import URL_PATTERN
from tracker.services.messaging.webhooks import _split


def _spec(client) -> dict:
    return client.get("/api/v1/openapi.json").get_json()


def _json_schema(spec: dict, name: str) -> dict:
    """An OpenAPI 3.0 component as plain JSON Schema: `nullable` becomes a null type."""

    def convert(node):
        if isinstance(node, dict):
            node = {k: convert(v) for k, v in node.items()}
            if node.pop("nullable", False) and "type" in node:
                node["type"] = [node["type"], "null"]
            if "$ref" in node:
                return convert(spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]])
            return node
        if isinstance(node, list):
            return [convert(v) for v in node]
        return node

    return convert(copy.deepcopy(spec["components"]["schemas"][name]))


def _user(**fields) -> dict:
    body = {"email": f"new-{len(str(fields))}@example.com", "name": "Nia Okafor"}
    body.update(fields)
    return {k: v for k, v in body.items() if v is not ...}


USER_CASES = [  # (body, the document and the server accept it)
    (_user(role="manager", timezone="Europe/Berlin", email="a1@example.com"), True),
    (_user(role="manager", provider_id=None, email="a2@example.com"), True),
    (_user(role="stakeholder", timezone="", email="a3@example.com"), True),
    (_user(role="provider", provider_id="PROVIDER", email="a4@example.com"), True),
    (_user(role="provider", email="a5@example.com"), False),  # a provider names their org
    (_user(role="manager", provider_id="PROVIDER", email="a6@example.com"), False),
    (_user(role="manager", timezone="Mars/Olympus", email="a7@example.com"), False),
    (_user(role="manager", email="no-at-sign.example.com"), False),
    (_user(role="manager", name="   ", email="a8@example.com"), False),
    (_user(role="manager", name="Ni\x00a", email="a9@example.com"), False),
    (_user(role="manager", password="short-one", email="b1@example.com"), False),
    (_user(role="manager", password="harbour lantern quietly", email="b2@example.com"), True),
]


@pytest.mark.parametrize(("body", "accepted"), USER_CASES)
def test_user_document_and_server_agree_either_side_of_each_rule(api, app, body, accepted):
    body = dict(body)
    if body.get("provider_id") == "PROVIDER":
        with app.app_context():
            from tracker.extensions import db
            from tracker.models import User

            body["provider_id"] = db.session.get(User, api.world.users["provider"]).provider_id
    validator = jsonschema_rs.validator_for(_json_schema(_spec(api.client), "UserCreate"))
    assert validator.is_valid(body) is accepted
    response = api.post("/users", "admin", json=body)
    assert (response.status_code == 201) is accepted, response.get_json()


def test_password_minimum_and_https_follow_the_configuration(make_app):
    strict = make_app(PASSWORD_MIN_LENGTH=16, WEBHOOK_REQUIRE_HTTPS=True)
    spec = _spec(strict.test_client())
    password = spec["components"]["schemas"]["UserCreate"]["properties"]["password"]
    assert password["pattern"] == "^$|^[^\\x00]{16,}$"
    url = spec["components"]["schemas"]["WebhookWrite"]["properties"]["url"]["pattern"]
    assert re.search(url, "https://hooks.example.com/x")
    assert not re.search(url, "http://hooks.example.com/x")
    # a setting builds an app of its own: the shared test app's document was made before
    # the strict one replaced flask-smorest's (one Api object per process, as in production)
    lenient_app = make_app(PASSWORD_MIN_LENGTH=12, WEBHOOK_REQUIRE_HTTPS=False)
    lenient = _spec(lenient_app.test_client())["components"]["schemas"]["WebhookWrite"]
    assert re.search(lenient["properties"]["url"]["pattern"], "http://hooks.example.com/x")


@settings(max_examples=300, database=None, derandomize=True)
@given(st.from_regex(URL_PATTERN, fullmatch=True))
def test_every_url_the_pattern_allows_passes_the_servers_form_check(url):
    assert _split(url, "url").hostname


@settings(max_examples=300, database=None, derandomize=True)
@given(st.text(max_size=60).map(lambda tail: f"http://{tail}"))
def test_the_server_refuses_every_url_the_pattern_refuses(url):
    if re.fullmatch(URL_PATTERN, url):
        return
    with pytest.raises(ValidationFailed) as refused:
        _split(url, "url")
    assert refused.value.errors == {"url": ["Use an http(s) URL."]}


@pytest.mark.parametrize(
    "url", ["http://hooks.example:xyz/", "http://[not-an-address]/", "http://8.8.8.8:70000/"]
)
def test_a_malformed_port_or_ip_literal_is_a_422_naming_url_not_a_500(api, url):
    body = {"url": url, "events": ["engagement.created"]}
    assert_error(api.post("/webhooks", "admin", json=body), 422, field="url")


def test_if_match_takes_ascii_digits_only_as_its_pattern_says(api):
    path = f"/engagements/{api.world.engagements['own']}"
    etag = api.get(path, "manager").headers["ETag"]
    arabic = etag.replace(etag[2:-1], "١" * len(etag[2:-1]))
    assert_error(api.patch(path, "manager", json={"title": "T"}, headers={"If-Match": arabic}), 412)
    spec = _spec(api.client)
    parameter = next(
        p
        for p in spec["paths"]["/api/v1/engagements/{engagement_id}"]["patch"]["parameters"]
        if p["name"] == "If-Match"
    )
    pattern = parameter["schema"]["pattern"]
    assert re.search(pattern, etag) and re.search(pattern, "*")
    assert not re.search(pattern, arabic)


# Rules no schema can state: ids that must name real rows of the right kind, a stale
# If-Match (412), a transition the ADR's status does not allow (409). Anything else
# refusing a schema-valid body is a rule the document should state.
UNSTATABLE = {
    "PATCH /api/v1/engagements/{engagement_id}": {
        "owner_id",
        "technical_contact_id",
        "provider_id",
        "discovery_start",
        "trial_start",  # period dates are moved once the workflow set them, never set
        "trial_end",
        "period_start",
        "period_end",
        "version",
    },
    "POST /api/v1/adrs/{adr_id}/decision": {"status", "version"},
    # A password may not contain the account's email or name: a rule across two fields.
    "POST /api/v1/users": {
        "email:A user with this email already exists.",
        "password:Do not use your email address or name in your password.",
        "provider_id",
    },
    "POST /api/v1/webhooks": set(),
    # Links are one pattern (schemas/common.py: Link) the API checks as stated; an owner
    # must be a user, a due date within the engagement's dates, a day not in the future.
    "POST /api/v1/engagements/{engagement_id}/artifacts": {"owner_id"},
    "POST /api/v1/engagements/{engagement_id}/checklist": {"owner_id", "due_date"},
    "PATCH /api/v1/checklist-items/{item_id}": {"owner_id", "due_date", "version"},
    "PATCH /api/v1/milestones/{milestone_id}": {"due_date", "version"},
    "POST /api/v1/milestones/{milestone_id}/updates": {"version", "reason", "status"},
    "PUT /api/v1/engagements/{engagement_id}/exit": {
        "ip_assignment_confirmed_on",
        "data_disposition",  # a certificate says whether the data was returned or deleted
        "version",
    },
}


def _refusals(app, api: ApiClient, ids: dict) -> dict:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {api.world.tokens['admin']}"}
    found = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in UNSTATABLE:
            names = {p.name for p in operation.path_parameters}
            path_parameters = {k: v for k, v in ids.items() if k in names} or None
            strategy = operation.as_strategy(
                generation_mode=GenerationMode.POSITIVE, path_parameters=path_parameters
            )
            found[operation.label] = _outcomes(strategy, headers)
    return found


def _outcomes(strategy, headers: dict) -> collections.Counter:
    """ "accepted", and each refused field and field:message, counted over 40 cases."""
    seen = collections.Counter()

    @settings(
        max_examples=40,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        response = case.call(headers=headers)
        if response.status_code < 300:
            seen["accepted"] += 1
            return
        for field, messages in response.json()["errors"].items():
            seen[field] += 1
            seen.update(f"{field}:{m}" for m in messages)

    run()
    return seen


def test_generated_valid_bodies_are_refused_only_for_rules_no_schema_can_state(app, api):
    app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = True  # DNS is no schema's business
    adr = api.post(
        f"/engagements/{api.world.engagements['own']}/adrs", "manager", json={"title": "Use dbt"}
    )
    ids = {"engagement_id": api.world.engagements["own"], "adr_id": adr.get_json()["id"]}
    ids["item_id"] = api.world.items["own"]
    ids["milestone_id"] = api.world.milestones["own"]
    found = _refusals(app, api, ids)
    assert set(found) == set(UNSTATABLE)
    for label, seen in found.items():
        assert seen["accepted"] >= 1, (label, seen)
        refused = {key for key in seen if key != "accepted"}
        fields = {key for key in refused if ":" not in key}
        allowed = UNSTATABLE[label]
        # A field listed with a message may be refused with that message only.
        by_message = {a.split(":")[0] for a in allowed if ":" in a}
        unexplained = {
            key
            for key in refused
            if (key in fields and key not in {a.split(":")[0] for a in allowed})
            or (":" in key and key.split(":")[0] in by_message and key not in allowed)
        }
        assert not unexplained, (label, unexplained, seen)


LINKS = [  # (link, the document and the server accept it)
    ("https://wiki.example/runbooks/rollback", True),
    ("http://intranet/Übersicht?tab=2#steps", True),  # a host without a TLD, Unicode path
    ("HTTPS://Wiki.Example:8443/a", True),
    ("ftp://files.example/runbook", False),
    ("https://", False),
    ("https://wiki.example/a b", False),  # whitespace
    (" https://wiki.example/", False),
    ("https://wiki.example/\n", False),  # ECMA's $ is the end, as the check reads it
    ("http://[::1/", False),  # brackets: no split of such a host can fail on the server
    ("https://wiki.example/\x07", False),
]


@pytest.mark.parametrize(("link", "accepted"), LINKS)
def test_links_the_document_and_the_api_agree_on(api, link, accepted):
    """An independent validator reads the document's pattern; the API answers the same."""
    spec = _spec(api.client)
    validator = jsonschema_rs.validator_for(_json_schema(spec, "ArtifactWrite"))
    body = {"kind": "runbook", "title": "Rollback", "url": link}
    assert validator.is_valid(body) is accepted
    path = f"/engagements/{api.world.engagements['own']}/artifacts"
    response = api.post(path, "manager", json=body)
    if accepted:
        assert response.status_code == 201, response.get_json()
    else:
        assert_error(response, 422, field="url")
    drill = _json_schema(spec, "DrillWrite")["properties"]["evidence_url"]
    item = _json_schema(spec, "ChecklistItemWrite")["properties"]["evidence"]
    assert drill["pattern"] == item["pattern"]  # one rule for every link, empty allowed
    assert jsonschema_rs.validator_for(item).is_valid("") and not jsonschema_rs.validator_for(
        item
    ).is_valid("ftp://x")


def test_transition_inputs_import_files_and_drill_performers_are_stated(api):
    spec = _spec(api.client)
    fire = jsonschema_rs.validator_for(_json_schema(spec, "Fire"))
    assert fire.is_valid({"inputs": {"reason": "Budget", "days": 30, "urgent": True}})
    assert not fire.is_valid({"inputs": {"reason": ["a", "b"]}})
    engagement = api.world.engagements["own"]
    refused = api.post(
        f"/engagements/{engagement}/transitions/cancel", "admin", json={"inputs": {"x": [1]}}
    )
    assert_error(refused, 422, field="inputs")

    files = _json_schema(spec, "Import")["properties"]["files"]
    assert (files["minProperties"], files["maxProperties"]) == (1, 2000)
    assert "minLength" not in files  # a string keyword on an object said nothing
    empty = api.post(f"/engagements/{engagement}/adrs/import", "manager", json={"files": {}})
    assert_error(empty, 422, field="files")

    assert "performed_by_id" in _json_schema(spec, "DrillWrite")["required"]


def test_a_replayed_measurement_answers_the_documented_200(api):
    """A retry with the same idempotency key answers 200 with the stored point, which the
    document lists beside the 201 (the live fuzz found it undocumented)."""
    engagement = api.world.engagements["own"]
    metric = api.post(
        f"/engagements/{engagement}/metrics",
        "manager",
        json={"name": "AUC", "kind": "quality", "direction": "higher"},
    ).get_json()["id"]
    body = {"value": 0.81, "idempotency_key": "nightly-1"}
    first = api.post(f"/metrics/{metric}/measurements", "manager", json=body)
    again = api.post(f"/metrics/{metric}/measurements", "manager", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    spec = _spec(api.client)
    responses = spec["paths"]["/api/v1/metrics/{metric_id}/measurements"]["post"]["responses"]
    assert {"200", "201"} <= set(responses)
    stored = responses["200"]["content"]["application/json"]["schema"]
    assert stored == {"$ref": "#/components/schemas/Measurement"}
