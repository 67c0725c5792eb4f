"""The new-engagement form: choose the workflow (each with its diagram); bad choices 422."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Engagement
from workflows import DEFINITIONS_DIR


@pytest.fixture
def workflow_dir(tmp_path):
    directory = tmp_path / "definitions"
    shutil.copytree(DEFINITIONS_DIR, directory)
    (directory / "broken_flow.toml").write_bytes(b'name = "broken_flow"\n[states.x\n')
    return directory


@pytest.fixture
def app(make_app, workflow_dir):
    return make_app(WORKFLOW_DIR=str(workflow_dir))


@pytest.fixture
def manager(sign_in):
    return sign_in("manager")


def _provider_id(app) -> int:
    with app.app_context():
        from tracker.services.administration.users import get_or_create_provider

        provider = get_or_create_provider("Northwind ML")
        db.session.commit()
        return provider.id


def _form(app, manager, **extra) -> dict:
    return {
        "title": "Chosen lifecycle",
        "provider_id": str(_provider_id(app)),
        "structure": "pod_2",
        "owner_id": str(manager),
        "monthly_cost": "12000",
        "currency": "EUR",
        **extra,
    }


def _engagements(app) -> list[tuple[str, str, int]]:
    with app.app_context():
        rows = db.session.scalars(select(Engagement).order_by(Engagement.id))
        return [(e.title, e.workflow_name, e.workflow_version) for e in rows]


def test_form_offers_each_workflow_with_its_diagram_default_checked(client, manager):
    html = client.get("/engagements/new").get_data(as_text=True)
    choice = html.split('data-testid="workflow-choice"')[1].split("</fieldset>")[0]
    assert 'value="staff_augmentation"' in choice and 'value="fractional_lead"' in choice
    assert "broken_flow" not in choice
    default = choice.split('value="staff_augmentation"')[0].rsplit("<input", 1)[1]
    assert "checked" in default
    other = choice.split('value="fractional_lead"')[0].rsplit("<input", 1)[1]
    assert "checked" not in other
    for name in ("staff_augmentation", "fractional_lead"):
        diagram = choice.split(f'data-testid="diagram-{name}"')[1].split("</details>")[0]
        assert "<svg" in diagram


def test_the_edit_form_has_no_workflow_choice(client, app, manager, post):
    post("/engagements/new", _form(app, manager))
    assert len(_engagements(app)) == 1
    with app.app_context():
        engagement_id = db.session.scalar(select(Engagement.id))
    html = client.get(f"/engagements/{engagement_id}/edit").get_data(as_text=True)
    assert 'data-testid="workflow-choice"' not in html


def test_choosing_the_other_workflow_starts_on_its_newest_version(client, app, manager, post):
    response = post(
        "/engagements/new",
        _form(app, manager, workflow_name="fractional_lead"),
        follow_redirects=True,
    )
    assert response.status_code == 200
    with app.app_context():
        from tracker.services.workflow.workflow_registry import catalog

        latest = catalog().latest("fractional_lead").version
    assert _engagements(app) == [("Chosen lifecycle", "fractional_lead", latest)]


def test_leaving_the_choice_out_uses_the_default(client, app, manager, post):
    post("/engagements/new", _form(app, manager))
    assert [name for _, name, _ in _engagements(app)] == ["staff_augmentation"]


@pytest.mark.parametrize("name", ["broken_flow", "no_such_flow"])
def test_an_unavailable_workflow_is_a_form_message_keeping_what_was_typed(
    client, app, manager, post, name
):
    response = post("/engagements/new", _form(app, manager, workflow_name=name))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-field="workflow_name"' in html and 'value="Chosen lifecycle"' in html
    assert _engagements(app) == []
