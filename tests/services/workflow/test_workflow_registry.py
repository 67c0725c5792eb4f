"""A malformed definition file disables only its own workflow; the others keep working."""

from __future__ import annotations

import pytest

from tests import factories
from tracker.errors import GuardFailed, ValidationFailed
from tracker.services.workflow import transitions
from tracker.services.workflow.workflow_registry import DefinitionBroken, definition_errors
from workflows import DEFINITIONS_DIR

# On PostgreSQL too (ADR 0216): ON CONFLICT DO NOTHING on (name, version).
pytestmark = pytest.mark.postgres


@pytest.fixture
def two_workflows(tmp_path):
    directory = tmp_path / "definitions"
    directory.mkdir()
    for name in ("staff_augmentation", "fractional_lead"):
        (directory / f"{name}.toml").write_bytes((DEFINITIONS_DIR / f"{name}.toml").read_bytes())
    return directory


def _first_event(owner, engagement_id: int) -> str:
    return transitions.available_transitions(owner, engagement_id)[0].event


def test_a_broken_file_refuses_only_its_engagements_and_names_the_file(make_app, two_workflows):
    app = make_app(WORKFLOW_DIR=str(two_workflows))
    with app.app_context():
        owner = factories.make_user("manager")
        staff = factories.make_engagement(owner, workflow_name="staff_augmentation")
        lead = factories.make_engagement(owner, workflow_name="fractional_lead")
        staff_id, lead_id = staff.id, lead.id
        (two_workflows / "fractional_lead.toml").write_text('name = "fractional_lead"\nversion =\n')
        assert list(definition_errors()) == ["fractional_lead.toml"]
        with pytest.raises(DefinitionBroken, match="fractional_lead.toml is malformed") as caught:
            transitions.fire(owner, lead_id, "anything")
        assert caught.value.status == 409
        # Creating on it is a choice the caller can change: 422 naming workflow_name.
        with pytest.raises(ValidationFailed, match="fractional_lead.toml") as refused:
            factories.make_engagement(owner, workflow_name="fractional_lead")
        assert "fractional_lead.toml" in refused.value.errors["workflow_name"][0]
        # The other workflow still runs: its engine answers with its own guards.
        with pytest.raises(GuardFailed, match="requirement"):
            transitions.fire(owner, staff_id, _first_event(owner, staff_id))


def test_the_broken_file_is_named_on_healthz_and_the_admin_page(make_app, two_workflows):
    from tests.conftest import AuthActions

    app = make_app(WORKFLOW_DIR=str(two_workflows))
    (two_workflows / "fractional_lead.toml").write_text("this is not toml")
    with app.app_context():
        factories.make_user("admin", email="root@example.com")
    client = app.test_client()
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok"
    [message] = body["workflow_definition_errors"]["fractional_lead.toml"]
    assert message.startswith("fractional_lead.toml: invalid TOML")
    AuthActions(client).login("root@example.com")
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "Workflow definitions disabled" in page and "<code>fractional_lead.toml</code>" in page
