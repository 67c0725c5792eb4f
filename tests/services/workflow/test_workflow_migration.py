"""migrate_engagements: a dry run is the real run rolled back, so it reports the same moves."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.commands.conftest import V1_BYTES, write_v2
from tests.factories import make_engagement, make_user
from tracker.core import clock
from tracker.errors import ValidationFailed
from tracker.extensions import db
from tracker.models import AuditEvent, Engagement, User, WorkflowTimer
from tracker.services.workflow.workflow_migration import migrate_engagements, parse_state_map


@pytest.fixture
def app(make_app, tmp_path):
    directory = tmp_path / "definitions"
    directory.mkdir()
    (directory / "staff_augmentation.toml").write_bytes(V1_BYTES)
    app = make_app(WORKFLOW_DIR=str(directory))
    app.config["TEST_WORKFLOW_DIR"] = directory
    return app


@pytest.fixture
def fleet(app):
    """v1 engagements in discovery and extension (renamed in v2, with a timer); v2 ships."""
    with app.app_context():
        manager = make_user("manager")
        scoping = make_engagement(manager, title="Scoping")
        extended = make_engagement(manager, title="Extended")
        extended.state = "extension"
        db.session.add(
            WorkflowTimer(
                engagement_id=extended.id,
                event="begin_review",
                from_state="extension",
                due_at=clock.now() + timedelta(days=30),
            )
        )
        db.session.commit()
        write_v2(app.config["TEST_WORKFLOW_DIR"])
        ids = {"scoping": scoping.id, "extended": extended.id, "admin": make_user("admin").id}
        db.session.remove()
    return ids


def _rows():
    engagements = db.session.execute(
        select(Engagement.id, Engagement.workflow_version, Engagement.state, Engagement.version)
    ).all()
    timers = db.session.execute(select(WorkflowTimer.from_state, WorkflowTimer.status)).all()
    audits = db.session.scalar(select(func.count()).select_from(AuditEvent))
    return sorted(engagements), sorted(timers), audits


@pytest.mark.parametrize("state_map", [{}, {"extension": "extension_period"}])
def test_the_dry_run_reports_what_the_real_run_then_does(app, fleet, state_map):
    with app.app_context():
        admin = db.session.get(User, fleet["admin"])
        before = _rows()
        dry = migrate_engagements("staff_augmentation", 2, state_map, dry_run=True, actor=admin)
        assert _rows() == before
        real = migrate_engagements("staff_augmentation", 2, state_map, dry_run=False, actor=admin)
        assert [replace(m, moved=False) for m in real.moves] == dry.moves
        assert all(m.moved for m in real.moves if m.ok) and not any(m.moved for m in dry.moves)
        engagements, timers, audits = _rows()
        assert audits == before[2] + len([m for m in real.moves if m.ok])
        if state_map:
            assert timers == [("extension_period", "pending")]
        else:
            assert timers == before[1]


def test_what_cannot_move_says_why(app, fleet):
    with app.app_context():
        report = migrate_engagements("staff_augmentation", 2, dry_run=True)
        by_id = {move.engagement_id: move for move in report.moves}
        assert by_id[fleet["scoping"]].ok and by_id[fleet["scoping"]].to_state == "discovery"
        blocked = by_id[fleet["extended"]]
        assert not blocked.ok and not blocked.moved
        [problem] = blocked.problems
        assert "'extension' does not exist in staff_augmentation v2" in problem
        assert "--map extension=<state>" in problem and "extension_period" in problem
        assert report.blocked == [blocked]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        ("a=b", {"a": "b"}),
        (" a = b , c=d\ne=f ", {"a": "b", "c": "d", "e": "f"}),
        ("a=b,a=b", {"a": "b"}),
    ],
)
def test_the_state_map_parser_reads_comma_and_line_separated_pairs(text, expected):
    assert parse_state_map(text) == expected


@pytest.mark.parametrize(("text", "message"), [("a", "is not old=new"), ("a=b,a=c", "twice")])
def test_a_malformed_state_map_names_the_field(text, message):
    with pytest.raises(ValidationFailed) as caught:
        parse_state_map(text)
    assert message in caught.value.errors["map"][0]


def test_an_engagement_on_hold_moves_only_if_resume_has_somewhere_to_return(app, fleet):
    with app.app_context():
        held = db.session.get(Engagement, fleet["extended"])
        held.state, held.paused_from_state, held.paused_at = "on_hold", "extension", clock.now()
        db.session.commit()
        admin = db.session.get(User, fleet["admin"])
        blocked = migrate_engagements("staff_augmentation", 2, dry_run=False, actor=admin)
        [move] = [m for m in blocked.moves if m.engagement_id == fleet["extended"]]
        assert not move.ok and not move.moved
        assert (
            "on hold from 'extension'" in move.problems[0]
            and "--map extension=" in move.problems[0]
        )
        db.session.expire_all()
        assert db.session.get(Engagement, fleet["extended"]).workflow_version == 1

        state_map = {"extension": "extension_period"}
        moved = migrate_engagements("staff_augmentation", 2, state_map, dry_run=False, actor=admin)
        [move] = [m for m in moved.moves if m.engagement_id == fleet["extended"]]
        assert move.moved and move.to_state == "on_hold"
        held = db.session.get(Engagement, fleet["extended"])
        assert (held.workflow_version, held.state) == (2, "on_hold")
        assert held.paused_from_state == "extension_period"
        audit = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.kind == "migration", AuditEvent.engagement_id == held.id
            )
        ).one()
        assert audit.data["paused_from"] == ["extension", "extension_period"]
