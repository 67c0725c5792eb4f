"""Firing transitions: guards re-checked, one transaction, optimistic concurrency."""

from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest
from sqlalchemy import func, select

from tests.factories import (
    add_member,
    add_milestone,
    complete_checklist,
    make_engagement,
    make_user,
)
from tests.support.concurrency import run_at_once
from tracker.errors import Conflict, Forbidden, GuardFailed, StaleVersion, ValidationFailed
from tracker.extensions import db
from tracker.models import AuditEvent, Engagement, Milestone, User, WorkflowTimer
from tracker.services.delivery import milestones
from tracker.services.workflow import transitions


def _ready_for_trial(engagement):
    add_milestone(engagement, criteria="Offline AUC >= 0.82")
    complete_checklist(engagement, "prerequisite")  # its metric's target: on that milestone
    add_member(engagement)
    complete_checklist(engagement, "placement")  # the access register lists the member


def _count(model, engagement_id):
    return db.session.scalar(
        select(func.count()).select_from(model).where(model.engagement_id == engagement_id)
    )


def test_start_trial_lists_every_unmet_prerequisite(ctx):
    engagement = make_engagement()
    with pytest.raises(GuardFailed) as caught:
        transitions.fire(engagement.owner, engagement.id, "start_trial")
    codes = [u.code for u in caught.value.unmet]
    assert codes.count("prerequisite_incomplete") == 4
    assert codes.count("placement_incomplete") == 4  # three by hand, the access register
    assert "team_empty" in codes and "milestone_without_targets" in codes
    messages = [u.message for u in caught.value.unmet]
    assert any("Data access and infrastructure ready" in m for m in messages)
    assert any("'Access register complete' is not done: an external member" in m for m in messages)
    assert db.session.get(Engagement, engagement.id).state == "discovery"


def test_start_trial_creates_milestones_timer_and_audit(ctx):
    engagement = make_engagement()
    _ready_for_trial(engagement)
    fired = transitions.fire(engagement.owner, engagement.id, "start_trial")
    assert fired.state == "trial" and fired.trial_end is not None
    dues = sorted(
        m.due_date
        for m in db.session.scalars(
            select(Milestone).where(
                Milestone.engagement_id == engagement.id, Milestone.title.like("Trial day-%")
            )
        )
    )
    # The plan already had a milestone due on day 30 (from _ready_for_trial): kept, not doubled.
    assert [(d - fired.trial_start).days for d in dues] == [60, 90]
    timer = db.session.scalars(select(WorkflowTimer)).one()
    assert timer.event == "begin_review" and timer.due_at.date() == fired.trial_end
    audit_row = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "transition")).one()
    assert (audit_row.from_state, audit_row.to_state, audit_row.event) == (
        "discovery",
        "trial",
        "start_trial",
    )
    assert audit_row.actor_id == engagement.owner_id


def test_failed_action_rolls_back_everything(ctx):
    engagement = make_engagement()
    _ready_for_trial(engagement)
    boom = mock.Mock(side_effect=RuntimeError("disk full"))
    with mock.patch.dict(transitions.IMPLEMENTATIONS, {"create_milestones": boom}):
        with pytest.raises(RuntimeError):
            transitions.fire(engagement.owner, engagement.id, "start_trial")
    db.session.rollback()
    assert db.session.get(Engagement, engagement.id).state == "discovery"
    assert _count(WorkflowTimer, engagement.id) == 0
    kinds = set(db.session.scalars(select(AuditEvent.kind)))
    assert "transition" not in kinds


def test_stale_expected_version_is_refused(ctx):
    engagement = make_engagement()
    _ready_for_trial(engagement)
    with pytest.raises(StaleVersion):
        transitions.fire(
            engagement.owner, engagement.id, "start_trial", expected_version=engagement.version - 1
        )
    assert db.session.get(Engagement, engagement.id).state == "discovery"


def test_unknown_event_and_missing_inputs_are_precise(ctx):
    engagement = make_engagement()
    with pytest.raises(Conflict, match="extend"):
        transitions.fire(engagement.owner, engagement.id, "extend")
    with pytest.raises(ValidationFailed) as caught:
        transitions.fire(engagement.owner, engagement.id, "cancel", {})
    assert "reason" in caught.value.errors


@pytest.mark.parametrize("role", ["provider", "stakeholder"])
def test_roles_that_may_not_fire_are_forbidden(ctx, role):
    engagement = make_engagement()
    user = make_user(role)
    if role == "stakeholder":
        engagement.followers.append(user)
        db.session.commit()
    with pytest.raises(Forbidden):
        transitions.fire(user, engagement.id, "cancel", {"reason": "no budget"})


def test_admin_override_needs_reason_and_is_audited(ctx):
    engagement = make_engagement()
    admin = make_user("admin")
    with pytest.raises(GuardFailed):
        transitions.fire(admin, engagement.id, "start_trial")
    transitions.fire(admin, engagement.id, "start_trial", override_reason="Board approved")
    row = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "transition")).one()
    assert row.reason == "Board approved"
    assert any(u["code"] == "prerequisite_incomplete" for u in row.data["overridden"])


def test_manager_cannot_override(ctx):
    engagement = make_engagement()
    with pytest.raises(Forbidden):
        transitions.fire(engagement.owner, engagement.id, "start_trial", override_reason="please")


def test_scheduler_fires_timer_event_as_system(ctx):
    engagement = make_engagement()
    _ready_for_trial(engagement)
    transitions.fire(engagement.owner, engagement.id, "start_trial")
    transitions.fire_as_scheduler(engagement.id, "begin_review")
    row = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "begin_review")).one()
    assert row.actor_label == "scheduler" and row.actor_id is None
    assert db.session.get(Engagement, engagement.id).state == "milestone_review"


@pytest.mark.postgres
def test_two_concurrent_firings_exactly_one_wins_on_postgres(pg_app):
    with pg_app.app_context():
        engagement = make_engagement()
        ids = (engagement.id, engagement.owner_id)

    def read(index: int) -> None:
        db.session.get(Engagement, ids[0])  # both read the same version first

    def fire(index: int) -> str:
        owner = db.session.get(User, ids[1])
        transitions.fire(owner, ids[0], "cancel", {"reason": "budget cut"})
        return "won"

    results = run_at_once(pg_app, fire, 2, prepare=read)
    assert all(isinstance(r, str | Conflict) for r in results), results
    outcomes = [r if isinstance(r, str) else type(r).__name__ for r in results]
    assert sorted(outcomes) == ["ConcurrentUpdate", "won"]
    with pg_app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == "transition")
            )
            == 1
        )


def test_an_engagement_can_start_on_another_shipped_workflow(ctx):
    engagement = make_engagement(workflow_name="fractional_lead")
    assert engagement.workflow_name == "fractional_lead"
    assert engagement.state == "discovery"
    events = {o.event for o in transitions.available_transitions(engagement.owner, engagement.id)}
    assert "start_trial" not in events


# 2 Dec 2026 + 90 days and + 3 calendar months are the same day, 2 Mar 2027: the trial's
# review timer and the extension's share an instant.
SAME_INSTANT_DAY = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def _judge_period(engagement, now):
    for milestone in db.session.scalars(
        select(Milestone).where(Milestone.engagement_id == engagement.id)
    ):
        milestones.record_update(engagement.owner, milestone.id, status="met")


def test_extending_by_three_months_after_an_early_review_schedules_the_new_timer(ctx):
    engagement = make_engagement()
    _ready_for_trial(engagement)
    now = SAME_INSTANT_DAY
    transitions.fire(engagement.owner, engagement.id, "start_trial", now=now)
    reason = {"reason": "The sponsor moves on; judge now"}
    transitions.fire(engagement.owner, engagement.id, "begin_review", reason, now=now)
    _judge_period(engagement, now)
    extended = transitions.fire(
        engagement.owner, engagement.id, "extend", {"months": 3, "review": "Good"}, now=now
    )
    assert extended.state == "extension" and extended.period_end == date(2027, 3, 2)
    timers = db.session.scalars(select(WorkflowTimer).order_by(WorkflowTimer.id)).all()
    assert [(t.from_state, t.status) for t in timers] == [
        ("trial", "cancelled"),
        ("extension", "pending"),
    ]
    assert timers[0].due_at == timers[1].due_at  # the instant they share
    # Reviewing the extension early cancels its timer too; nothing is left pending.
    transitions.fire(engagement.owner, engagement.id, "begin_review", reason, now=now)
    pending = db.session.scalars(
        select(WorkflowTimer).where(WorkflowTimer.status == "pending")
    ).all()
    assert pending == []


def test_an_early_review_without_a_reason_is_422_naming_reason(ctx):
    engagement = make_engagement()
    _ready_for_trial(engagement)
    transitions.fire(engagement.owner, engagement.id, "start_trial")
    with pytest.raises(ValidationFailed) as caught:
        transitions.fire(engagement.owner, engagement.id, "begin_review", {})
    assert "reason" in caught.value.errors
    assert "needs a written reason" in caught.value.errors["reason"][0]
    assert db.session.get(Engagement, engagement.id).state == "trial"


def test_a_review_in_the_last_two_weeks_needs_no_reason(ctx):
    engagement = make_engagement()
    _ready_for_trial(engagement)
    started = transitions.fire(engagement.owner, engagement.id, "start_trial")
    late = datetime.combine(started.trial_end - timedelta(days=14), datetime.min.time(), UTC)
    fired = transitions.fire(engagement.owner, engagement.id, "begin_review", {}, now=late)
    assert fired.state == "milestone_review"


def test_reentering_a_period_never_adds_a_second_set_of_milestones(ctx):
    engagement = make_engagement()
    _ready_for_trial(engagement)
    transitions.fire(engagement.owner, engagement.id, "start_trial")
    before = _count(Milestone, engagement.id)
    for call in engagement_definition_actions(engagement, "trial"):
        transitions.IMPLEMENTATIONS[call.name](engagement, dict(call.params), datetime.now(UTC))
    db.session.flush()
    assert _count(Milestone, engagement.id) == before == 3  # day 30 (the plan's), 60, 90


def engagement_definition_actions(engagement, state):
    from tracker.services.workflow.workflow_registry import definition_for

    definition = definition_for(engagement.workflow_name, engagement.workflow_version)
    return [c for c in definition.states[state].on_enter if c.name == "create_milestones"]
