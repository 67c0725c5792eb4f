"""Milestones: verdicts by the client side, removal keeping history, dates that make sense."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.factories import add_milestone, make_engagement, make_user
from tracker.errors import NotFound, ValidationFailed
from tracker.extensions import db
from tracker.models import AuditEvent, Milestone
from tracker.services.delivery import milestones
from tracker.services.knowledge import shadows
from tracker.services.workflow.subjects import build_subject


def test_provider_reports_done_and_only_a_manager_gives_the_verdict(ctx):
    engagement = make_engagement()
    provider = make_user("provider", provider="Northwind ML")
    milestone = add_milestone(engagement)
    milestones.record_update(provider, milestone.id, status="done", note="Shipped")
    assert milestone.status == "done" and milestone.verdict_by_id is None
    with pytest.raises(ValidationFailed) as caught:
        milestones.record_update(provider, milestone.id, status="met")
    assert "status" in caught.value.errors and "manager" in caught.value.errors["status"][0]
    db.session.rollback()
    assert db.session.get(Milestone, milestone.id).status == "done"
    milestones.record_update(engagement.owner, milestone.id, status="met", note="AUC 0.84")
    judged = db.session.get(Milestone, milestone.id)
    assert (judged.status, judged.verdict_by_id) == ("met", engagement.owner_id)
    assert judged.verdict_at is not None
    # A later progress report (e.g. the verdict was premature) clears the verdict.
    milestones.record_update(engagement.owner, milestone.id, status="at_risk")
    assert judged.verdict_by_id is None and judged.verdict_at is None


def test_removing_a_milestone_with_updates_keeps_its_history_out_of_judgments(ctx):
    engagement = make_engagement()
    kept = add_milestone(engagement, criteria="")
    gone = add_milestone(engagement, days=60)
    milestones.record_update(engagement.owner, kept.id, status="on_track")
    milestones.remove_milestone(engagement.owner, kept.id)
    milestones.remove_milestone(engagement.owner, gone.id)
    assert db.session.get(Milestone, gone.id) is None
    stored = db.session.get(Milestone, kept.id)
    assert stored.removed_at is not None and len(stored.updates) == 1
    assert milestones.list_milestones(engagement.owner, engagement.id) == []
    assert build_subject(engagement, date.today()).milestones == ()
    with pytest.raises(NotFound):
        milestones.update_milestone(engagement.owner, kept.id, {"title": "Back"})
    removed = db.session.scalars(
        select(AuditEvent).where(AuditEvent.kind == "milestone_removed")
    ).all()
    assert [r.data["kept_with_history"] for r in removed] == [True, False]


def test_provider_may_not_edit_or_remove_a_milestone(ctx):
    from tracker.errors import Forbidden

    engagement = make_engagement()
    provider = make_user("provider", provider="Northwind ML")
    milestone = add_milestone(engagement)
    with pytest.raises(Forbidden):
        milestones.remove_milestone(provider, milestone.id)
    with pytest.raises(Forbidden):
        milestones.update_milestone(provider, milestone.id, {"title": "Mine"})


def test_edit_is_audited_through_the_shared_diff(ctx):
    engagement = make_engagement()
    milestone = add_milestone(engagement, criteria="")
    new_due = date.today() + timedelta(days=40)
    milestones.update_milestone(
        engagement.owner, milestone.id, {"due_date": new_due, "success_criteria": "p95 < 200ms"}
    )
    row = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "milestone_edited")).one()
    assert row.data["changed"]["due_date"][1] == new_due.isoformat()
    assert row.data["changed"]["success_criteria"] == ["", "p95 < 200ms"]


@pytest.mark.parametrize(
    ("offset", "words"),
    [(-1, "before the engagement started"), (3 * 366 + 1, "more than 3 years")],
)
def test_implausible_due_dates_are_refused_naming_the_field(ctx, offset, words):
    engagement = make_engagement(discovery_start=date.today())
    due = date.today() + timedelta(days=offset)
    with pytest.raises(ValidationFailed) as caught:
        milestones.create_milestone(
            engagement.owner, engagement.id, {"title": "Odd", "due_date": due}
        )
    assert words in caught.value.errors["due_date"][0]
    db.session.rollback()
    assert db.session.scalars(select(Milestone)).all() == []


def test_due_dates_at_the_edges_are_accepted(ctx):
    engagement = make_engagement(discovery_start=date.today())
    for due in (date.today(), date.today() + timedelta(days=3 * 365)):
        milestones.create_milestone(
            engagement.owner, engagement.id, {"title": "Edge", "due_date": due}
        )
    assert len(db.session.scalars(select(Milestone)).all()) == 2


def test_a_shadow_session_cannot_be_in_the_future(ctx):
    from tests.factories import add_member

    engagement = make_engagement()
    member = add_member(engagement, areas=("serving",))
    engineer = make_user("stakeholder")
    assignment = shadows.assign_shadow(
        engagement.owner,
        engagement.id,
        {"member_id": member.id, "shadow_id": engineer.id, "areas": ["serving"]},
    )
    future = {"held_on": date.today() + timedelta(days=30), "duration_minutes": 60}
    with pytest.raises(ValidationFailed) as caught:
        shadows.log_session(engagement.owner, assignment.id, {**future, "topic": "Serving"})
    assert "held_on" in caught.value.errors
    db.session.rollback()
    done = shadows.log_session(
        engagement.owner,
        assignment.id,
        {"held_on": date.today(), "duration_minutes": 60, "topic": "Serving"},
    )
    assert done.id is not None


def test_discovery_cannot_start_after_the_trial(ctx):
    from tracker.services.staffing import engagements

    engagement = make_engagement(discovery_start=date.today() - timedelta(days=30))
    engagement.trial_start = date.today() - timedelta(days=10)
    db.session.commit()
    with pytest.raises(ValidationFailed) as caught:
        engagements.update_engagement(
            engagement.owner, engagement.id, {"discovery_start": date.today()}
        )
    assert "discovery_start" in caught.value.errors
