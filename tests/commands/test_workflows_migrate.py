"""`flask workflows migrate`: dry run lists each engagement, real run moves and audits."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.commands.conftest import V1_BYTES, v2_bytes, write_v2
from tests.factories import make_engagement, make_user
from tracker.core import clock
from tracker.extensions import db
from tracker.models import AuditEvent, Engagement, WorkflowTimer

V1_HASH = hashlib.sha256(V1_BYTES).hexdigest()
V2_HASH = hashlib.sha256(v2_bytes()).hexdigest()


@pytest.fixture
def fleet(wf_app, workflow_dir) -> dict[str, int]:
    """Engagements on v1 in several states (one closed), then v2 ships; returns ids by role."""
    with wf_app.app_context():
        manager = make_user("manager")
        ids = {}
        for key, state in [
            ("scoping", "discovery"),
            ("trial", "trial"),
            ("extended", "extension"),
            ("closed", "closed"),
        ]:
            engagement = make_engagement(manager, title=key.title())
            engagement.state = state
            ids[key] = engagement.id
        db.session.add(
            WorkflowTimer(
                engagement_id=ids["extended"],
                event="begin_review",
                from_state="extension",
                due_at=clock.now() + timedelta(days=30),
            )
        )
        db.session.get(Engagement, ids["closed"]).closed_at = clock.now()
        db.session.commit()
        write_v2(workflow_dir)
        ids["already_v2"] = make_engagement(manager, title="Already").id
    return ids


def _snapshot(app) -> dict[int, tuple]:
    with app.app_context():
        rows = db.session.scalars(select(Engagement).order_by(Engagement.id))
        return {e.id: (e.workflow_version, e.workflow_hash, e.state, e.version) for e in rows}


def _migration_audits(app) -> list[AuditEvent]:
    with app.app_context():
        query = select(AuditEvent).where(AuditEvent.kind == "migration").order_by(AuditEvent.id)
        rows = list(db.session.scalars(query))
        db.session.expunge_all()
        return rows


def test_dry_run_lists_every_engagement_and_changes_nothing(wf_app, cli, fleet):
    before = _snapshot(wf_app)
    result = cli("migrate", "staff_augmentation", "--to", "2", "--dry-run")
    assert result.exit_code == 1
    out = result.output
    assert "(dry run, nothing is changed)" in out
    assert f"#{fleet['scoping']} 'Scoping': v1 discovery -> v2 discovery: would move" in out
    assert f"#{fleet['trial']} 'Trial': v1 trial -> v2 trial: would move" in out
    assert f"#{fleet['extended']} 'Extended': v1 extension: CANNOT MOVE" in out
    assert "map it to one that does with --map extension=<state>" in out
    assert "2 would move, 1 cannot move, 1 closed left on their version." in out
    assert f"#{fleet['already_v2']} " not in out
    assert _snapshot(wf_app) == before
    assert _migration_audits(wf_app) == []


def test_real_run_moves_what_can_move_and_leaves_the_rest(wf_app, cli, fleet):
    before = _snapshot(wf_app)
    result = cli("migrate", "staff_augmentation", "--to", "2")
    assert result.exit_code == 1
    assert "(applying)" in result.output and "2 moved, 1 cannot move" in result.output
    after = _snapshot(wf_app)
    for key in ("scoping", "trial"):
        version, digest, state, row_version = after[fleet[key]]
        assert (version, digest, state) == (2, V2_HASH, before[fleet[key]][2])
        assert row_version == before[fleet[key]][3] + 1
    assert after[fleet["extended"]] == before[fleet["extended"]]
    assert after[fleet["closed"]] == before[fleet["closed"]]
    audits = _migration_audits(wf_app)
    assert sorted(a.engagement_id for a in audits) == [fleet["scoping"], fleet["trial"]]
    assert audits[0].data["from_version"] == 1 and audits[0].data["to_version"] == 2
    assert audits[0].actor_label == "flask workflows migrate" and audits[0].workflow_version == 2


def test_a_state_map_moves_the_renamed_state_and_its_timer(wf_app, cli, fleet):
    mapped = ("migrate", "staff_augmentation", "--to", "2", "--map", "extension=extension_period")
    dry = cli(*mapped, "--dry-run")
    assert dry.exit_code == 0 and "3 would move, 0 cannot move" in dry.output
    assert _migration_audits(wf_app) == []
    result = cli(*mapped)
    assert result.exit_code == 0, result.output
    assert "v1 extension -> v2 extension_period: moved" in result.output
    after = _snapshot(wf_app)
    assert after[fleet["extended"]][:3] == (2, V2_HASH, "extension_period")
    [audit] = [a for a in _migration_audits(wf_app) if a.engagement_id == fleet["extended"]]
    assert (audit.from_state, audit.to_state) == ("extension", "extension_period")
    assert audit.data["state_map"] == {"extension": "extension_period"}
    assert audit.data["timers"] == {"kept": 1, "cancelled": 0}
    with wf_app.app_context():
        timer = db.session.scalars(select(WorkflowTimer)).one()
        assert (timer.from_state, timer.status) == ("extension_period", "pending")
    again = cli("migrate", "staff_augmentation", "--to", "2")
    assert again.exit_code == 0 and "0 moved, 0 cannot move" in again.output


def test_a_bad_map_or_version_is_refused_and_changes_nothing(wf_app, cli, fleet):
    before = _snapshot(wf_app)
    unknown = cli("migrate", "staff_augmentation", "--to", "2", "--map", "trail=trial")
    assert unknown.exit_code == 1 and "map: 'trail' is not a state of" in unknown.output
    target = cli("migrate", "staff_augmentation", "--to", "2", "--map", "extension=ext")
    assert target.exit_code == 1 and "map: 'ext' is not a state of v2" in target.output
    malformed = cli("migrate", "staff_augmentation", "--to", "2", "--map", "extension")
    assert malformed.exit_code == 2 and "'extension' is not old=new" in malformed.output
    missing = cli("migrate", "staff_augmentation", "--to", "9")
    assert missing.exit_code == 1 and "version 9" in missing.output
    assert _snapshot(wf_app) == before


def test_only_an_admin_may_be_named_as_the_migrating_actor(wf_app, cli, fleet):
    with wf_app.app_context():
        manager, admin = make_user("manager"), make_user("admin")
        manager_email, admin_email, admin_id = manager.email, admin.email, admin.id
    refused = cli("migrate", "staff_augmentation", "--to", "2", "--by", manager_email)
    assert refused.exit_code == 1 and "Only an admin" in refused.output
    assert _migration_audits(wf_app) == []
    cli("migrate", "staff_augmentation", "--to", "2", "--by", admin_email)
    assert {a.actor_id for a in _migration_audits(wf_app)} == {admin_id}
