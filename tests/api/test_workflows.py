"""GET /api/v1/workflows and choosing the workflow on POST /api/v1/engagements."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import func, select

from tests.api.conftest import assert_error
from tracker.extensions import db
from tracker.models import Engagement
from workflows import DEFINITIONS_DIR

BROKEN = b'name = "broken_flow"\nversion = 1\ntitle = "Broken"\n[states.only\n'


@pytest.fixture
def workflow_dir(tmp_path):
    """The shipped definitions plus one malformed file (a workflow of its own)."""
    directory = tmp_path / "definitions"
    shutil.copytree(DEFINITIONS_DIR, directory)
    (directory / "broken_flow.toml").write_bytes(BROKEN)
    return directory


@pytest.fixture
def app(make_app, workflow_dir):
    return make_app(WORKFLOW_DIR=str(workflow_dir))


def _create(api, world, role="manager", **extra):
    provider = api.get(f"/engagements/{world.engagements['own']}", "admin").get_json()["provider"]
    body = {"title": "Chosen flow", "provider_id": provider["id"], "structure": "pod_2", **extra}
    return api.post("/engagements", role, json=body)


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Engagement))


@pytest.mark.parametrize("role", ["admin", "manager", "provider", "stakeholder"])
def test_every_signed_in_user_lists_the_workflows_default_first_broken_left_out(api, role):
    response = api.get("/workflows", role)
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [(w["name"], w["default"]) for w in items] == [
        ("staff_augmentation", True),
        ("fractional_lead", False),
    ]
    lead = items[1]
    assert lead["title"] == "Fractional ML lead" and lead["version"] == max(lead["versions"])


def test_the_list_needs_a_caller(api):
    assert_error(api.get("/workflows"), 401)


def test_workflow_name_starts_the_engagement_on_that_workflow(api, world):
    response = _create(api, world, workflow_name="fractional_lead")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    offered = {w["name"]: w for w in api.get("/workflows", "manager").get_json()["items"]}
    assert body["workflow_name"] == "fractional_lead"
    assert body["workflow_version"] == offered["fractional_lead"]["version"]


def test_without_workflow_name_the_default_is_used(api, world):
    response = _create(api, world)
    assert response.status_code == 201
    assert response.get_json()["workflow_name"] == "staff_augmentation"


@pytest.mark.parametrize("name", ["no_such_flow", "broken_flow", ""])
def test_an_unknown_or_broken_workflow_is_a_422_naming_the_field(app, api, world, name):
    before = _count(app)
    body = assert_error(_create(api, world, workflow_name=name), 422, field="workflow_name")
    if name == "broken_flow":
        assert "broken_flow.toml" in body["errors"]["workflow_name"][0]
    assert _count(app) == before


def test_workflow_name_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    body = spec["paths"]["/api/v1/engagements"]["post"]["requestBody"]["content"]
    ref = body["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "workflow_name" in spec["components"]["schemas"][ref]["properties"]
    assert "/api/v1/workflows" in spec["paths"]


def test_the_workflow_cannot_be_changed_by_patch(app, api, world):
    engagement_id = world.engagements["own"]
    path = f"/engagements/{engagement_id}"
    before = api.get(path, "manager").get_json()
    response = api.patch(path, "manager", json={"workflow_name": "fractional_lead"})
    assert_error(response, 422, field="workflow_name")
    assert api.get(path, "manager").get_json() == before
