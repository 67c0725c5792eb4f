"""Definition versions: recorded on first use, changed files refused, old versions kept."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from tests.commands.conftest import V1_BYTES, write_v2
from tests.factories import make_engagement, make_user
from tracker.extensions import db
from tracker.models import Engagement, WorkflowDefinitionRecord
from tracker.services.workflow import workflow_registry as workflow
from tracker.services.workflow.transitions import diagram_svg
from tracker.services.workflow.workflow_registry import DefinitionChanged, DefinitionMissing

V1_HASH = hashlib.sha256(V1_BYTES).hexdigest()


def _records() -> list[tuple[str, int, str]]:
    rows = db.session.scalars(select(WorkflowDefinitionRecord))
    return sorted((r.name, r.version, r.content_hash) for r in rows)


def _engagement_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Engagement))


def _edit_v1(workflow_dir) -> None:
    """The mistake: change the file's content but keep version = 1."""
    path = workflow_dir / "staff_augmentation.toml"
    path.write_bytes(V1_BYTES.replace(b'label = "Trial"', b'label = "Trial run"', 1))


def test_creating_an_engagement_records_the_definition_hash_and_text(wf_app):
    with wf_app.app_context():
        engagement = make_engagement()
        assert engagement.workflow_hash == V1_HASH
        assert _records() == [("staff_augmentation", 1, V1_HASH)]
        record = workflow.find_record("staff_augmentation", 1)
        assert record.source.encode("utf-8") == V1_BYTES
        make_engagement()
        assert len(_records()) == 1


def test_a_changed_file_that_kept_its_version_is_refused(wf_app, workflow_dir):
    with wf_app.app_context():
        manager = make_user("manager")
        engagement = make_engagement(manager)
        _edit_v1(workflow_dir)
        with pytest.raises(DefinitionChanged) as caught:
            make_engagement(manager)
        message = caught.value.message
        assert message.startswith("staff_augmentation.toml: version: staff_augmentation v1")
        assert "bump 'version' to 2" in message and caught.value.status == 409
        db.session.rollback()
        assert _engagement_count() == 1
        assert _records() == [("staff_augmentation", 1, V1_HASH)]
        with pytest.raises(DefinitionChanged):
            workflow.definition_for("staff_augmentation", engagement.workflow_version)


def test_validate_reports_a_changed_file_that_kept_its_version(wf_app, workflow_dir, cli):
    with wf_app.app_context():
        make_engagement()
    _edit_v1(workflow_dir)
    result = cli("validate")
    assert result.exit_code == 1
    assert "staff_augmentation.toml: version: staff_augmentation v1 was first recorded" in (
        result.output
    )
    assert "bump 'version' to 2" in result.output


def test_validate_records_nothing_but_sync_records_every_version(wf_app, workflow_dir, cli):
    write_v2(workflow_dir)
    assert cli("validate").exit_code == 0
    with wf_app.app_context():
        assert _records() == []
    result = cli("sync")
    assert result.exit_code == 0, result.output
    assert cli("sync").exit_code == 0
    with wf_app.app_context():
        assert [(n, v) for n, v, _ in _records()] == [
            ("staff_augmentation", 1),
            ("staff_augmentation", 2),
        ]


def test_running_engagements_stay_on_their_version_when_v2_ships(wf_app, workflow_dir):
    with wf_app.app_context():
        old = make_engagement()
        write_v2(workflow_dir)
        new = make_engagement()
        assert (old.workflow_version, new.workflow_version) == (1, 2)
        assert workflow.definition_for("staff_augmentation", 1).content_hash == V1_HASH
        assert "extension_period" in workflow.definition_for("staff_augmentation", 2).states
        svg = diagram_svg(old)
        assert '<g class="state current" id="state-discovery">' in svg
        assert 'id="state-extension"' in svg and "extension_period" not in svg


def test_a_removed_version_file_is_served_from_its_recorded_text(wf_app, workflow_dir, cli):
    with wf_app.app_context():
        engagement = make_engagement()
        write_v2(workflow_dir)
        (workflow_dir / "staff_augmentation.toml").unlink()
        definition = workflow.definition_for("staff_augmentation", engagement.workflow_version)
        assert definition.content_hash == engagement.workflow_hash == V1_HASH
        assert "extension" in definition.states and "(recorded copy)" in definition.source
        with pytest.raises(DefinitionMissing):
            workflow.definition_for("staff_augmentation", 7)
    result = cli("diagram", "staff_augmentation", "--version", "1", "--current", "extension")
    assert result.exit_code == 0 and "class extension current" in result.output


def test_the_catalog_is_reloaded_when_a_file_changes(wf_app, workflow_dir):
    with wf_app.app_context():
        assert workflow.catalog().versions("staff_augmentation") == [1]
        assert workflow.catalog() is workflow.catalog()
        write_v2(workflow_dir)
        assert workflow.catalog().versions("staff_augmentation") == [1, 2]


def test_an_unknown_workflow_name_is_a_validation_error_naming_the_field(wf_app):
    with wf_app.app_context():
        with pytest.raises(Exception) as caught:
            workflow.latest_definition("no_such_flow")
        assert caught.value.status == 422
        assert "no_such_flow" in caught.value.errors["workflow_name"][0]


def test_list_shows_versions_hashes_and_engagement_counts(wf_app, workflow_dir, cli):
    with wf_app.app_context():
        make_engagement()
        make_engagement()
    write_v2(workflow_dir)
    lines = cli("list").output.splitlines()
    assert lines[1].split()[:4] == ["staff_augmentation", "1", V1_HASH[:12], "2"]
    assert lines[1].endswith("staff_augmentation.toml")
    assert lines[2].split()[:2] == ["staff_augmentation", "2"]
    assert lines[2].split()[3] == "0" and lines[2].endswith("(not recorded yet)")
