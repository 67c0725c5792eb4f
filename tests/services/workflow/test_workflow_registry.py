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


def test_the_catalog_sees_an_added_changed_or_removed_file_at_the_next_look_up(
    two_workflows, monkeypatch
):
    """The files are looked at on every look-up (one directory read, issue 29), so an
    edit needs no restart: a new version appears, a rewritten file is parsed again, a
    removed one is gone."""
    from tracker.services.workflow import workflow_registry as registry

    first = registry.load_catalog(two_workflows)
    assert registry.load_catalog(str(two_workflows)) is first  # unchanged: not parsed again
    lead = (two_workflows / "fractional_lead.toml").read_text()
    (two_workflows / "fractional_lead.v9.toml").write_text(
        lead.replace("version = 3", "version = 9", 1)
    )
    added = registry.load_catalog(two_workflows)
    assert added.get("fractional_lead", 9).version == 9
    (two_workflows / "fractional_lead.v9.toml").write_text('name = "fractional_lead"\nversion =\n')
    assert list(registry.load_catalog(two_workflows).errors) == ["fractional_lead.v9.toml"]
    (two_workflows / "fractional_lead.v9.toml").unlink()
    assert registry.load_catalog(two_workflows).errors == {}


def test_a_look_up_reads_the_directory_once(make_app, two_workflows, monkeypatch):
    """definition_for on a version the files lack, whose workflow has a broken file,
    looks at the directory once, not once per question it asks the catalog."""
    from tracker.services.workflow import workflow_registry as registry

    (two_workflows / "fractional_lead.v9.toml").write_text('name = "fractional_lead"\nversion =\n')
    app = make_app(WORKFLOW_DIR=str(two_workflows))
    registry.load_catalog(two_workflows)  # parsed once (parsing lists the directory too)
    reads = []
    real_scandir = registry.os.scandir
    monkeypatch.setattr(registry.os, "scandir", lambda d: reads.append(d) or real_scandir(d))
    with app.app_context():
        with pytest.raises(DefinitionBroken, match="fractional_lead.v9.toml is malformed"):
            registry.definition_for("fractional_lead", 9)
    assert len(reads) == 1, reads
