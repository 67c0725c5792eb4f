"""Provider milestone updates, checklist complete/reopen, and derived health."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.factories import add_milestone, make_engagement, make_user
from tracker.errors import Forbidden, NotFound, StaleVersion, ValidationFailed
from tracker.extensions import db
from tracker.models import AuditEvent, ChecklistItem, Engagement
from tracker.services.delivery import checklists, milestones
from tracker.services.judgments import health


@pytest.fixture
def engagement(ctx):
    return make_engagement(provider="Northwind ML")


def test_provider_update_keeps_history_and_turns_health_red(engagement):
    provider = make_user("provider", provider="Northwind ML")
    milestone = add_milestone(engagement)
    milestones.record_update(provider, milestone.id, status="on_track", note="fine")
    milestones.record_update(
        provider,
        milestone.id,
        status="blocked",
        note="no GPU quota",
        evidence=["https://wiki.example.com/quota"],
    )
    history = milestones.history(provider, milestone.id)
    assert [u.status for u in history] == ["blocked", "on_track"]
    assert history[0].evidence == ["https://wiki.example.com/quota"]
    fresh = db.session.get(Engagement, engagement.id)
    assert fresh.health == "red"
    assert any("blocked" in r["message"] for r in fresh.health_reasons)


def test_other_provider_gets_not_found(engagement):
    other = make_user("provider", provider="Quanta Labs")
    milestone = add_milestone(engagement)
    with pytest.raises(NotFound):
        milestones.record_update(other, milestone.id, status="on_track")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"status": "finished"}, "status"),
        ({"status": "met"}, "status"),
        ({"status": "missed"}, "status"),
        ({"status": "done", "evidence": ["javascript:alert(1)"]}, "evidence"),
        ({"status": "done", "note": "x" * 5001}, "note"),
    ],
)
def test_bad_update_names_the_field_and_changes_nothing(engagement, kwargs, field):
    provider = make_user("provider", provider="Northwind ML")
    milestone = add_milestone(engagement)
    with pytest.raises(ValidationFailed) as caught:
        milestones.record_update(provider, milestone.id, **kwargs)
    assert field in caught.value.errors
    db.session.rollback()
    assert milestones.history(provider, milestone.id) == []


def test_stale_milestone_version_is_refused(engagement):
    provider = make_user("provider", provider="Northwind ML")
    milestone = add_milestone(engagement)
    milestones.record_update(provider, milestone.id, status="on_track")
    with pytest.raises(StaleVersion):
        milestones.record_update(provider, milestone.id, status="met", expected_version=1)


def test_my_milestones_lists_own_org_due_soonest_first(engagement):
    provider = make_user("provider", provider="Northwind ML")
    late = add_milestone(engagement, days=50)
    soon = add_milestone(engagement, days=5)
    other = make_engagement(provider="Quanta Labs")
    add_milestone(other, days=1)
    assert [m.id for m in milestones.my_milestones(provider)] == [soon.id, late.id]


def test_complete_and_reopen_record_who_when_and_audit(engagement):
    item = db.session.scalars(
        select(ChecklistItem).where(ChecklistItem.engagement_id == engagement.id)
    ).first()
    checklists.complete_item(engagement.owner, item.id, note="signed")
    assert item.status == "done" and item.completed_by_id == engagement.owner_id
    checklists.reopen_item(engagement.owner, item.id, note="contract changed")
    assert item.status == "open" and item.completed_at is None
    kinds = list(db.session.scalars(select(AuditEvent.kind).order_by(AuditEvent.id)))
    assert kinds[-2:] == ["checklist_completed", "checklist_reopened"]


def test_provider_cannot_complete_client_checklists(engagement):
    provider = make_user("provider", provider="Northwind ML")
    item = db.session.scalars(select(ChecklistItem)).first()
    with pytest.raises(Forbidden):
        checklists.complete_item(provider, item.id)


def _prerequisite_due(engagement, *, days_ago: int, started_days_ago: int):
    """The first prerequisite item, made due `days_ago` days ago (a due date needs the
    engagement to have started); returns the item and its due date."""
    engagement.discovery_start = date.today() - timedelta(days=started_days_ago)
    db.session.commit()
    item = db.session.scalars(
        select(ChecklistItem).where(ChecklistItem.kind == "prerequisite")
    ).first()
    due = date.today() - timedelta(days=days_ago)
    checklists.update_item(engagement.owner, item.id, {"due_date": due})
    return item, due


def test_overdue_prerequisite_makes_health_amber(engagement):
    item, due = _prerequisite_due(engagement, days_ago=2, started_days_ago=30)
    fresh = db.session.get(Engagement, engagement.id)
    assert fresh.health == "amber"
    assert fresh.health_reasons == [
        {
            "code": "checklist_overdue",
            "level": "amber",
            "message": f"Prerequisite item '{item.title}' was due {_day(due)} (2 days ago)",
            "anchor": f"checklist-{item.id}",
        }
    ]


def _day(day: date) -> str:
    return f"{day:%-d %b}" + ("" if day.year == date.today().year else f" {day.year}")


def test_a_reason_about_a_day_in_another_year_names_the_year(engagement):
    """'was due 12 Nov (390 days ago)' read in December looks like last month."""
    _item, due = _prerequisite_due(engagement, days_ago=390, started_days_ago=400)
    message = db.session.get(Engagement, engagement.id).health_reasons[0]["message"]
    assert message.endswith(f"was due {due:%-d %b %Y} (390 days ago)")


def test_trial_ending_with_an_open_milestone_and_stale_updates_are_amber(engagement):
    engagement.state = "trial"
    engagement.period_start = engagement.trial_start = date.today() - timedelta(days=80)
    engagement.period_end = engagement.trial_end = date.today() + timedelta(days=5)
    db.session.commit()
    milestone = add_milestone(engagement, days=3)
    milestone.created_at = datetime.now(UTC) - timedelta(days=80)
    db.session.commit()
    health.refresh_health([engagement.id])
    messages = [r["message"] for r in engagement.health_reasons]
    assert engagement.health == "amber"
    assert "Trial ends in 5 days with 1 milestone without a verdict" in messages
    assert f"No provider update on '{milestone.title}' for 80 days" in messages


def test_override_needs_note_and_wins_until_expiry(engagement):
    with pytest.raises(ValidationFailed) as caught:
        health.override_health(engagement.owner, engagement.id, "red", "", None)
    assert "note" in caught.value.errors
    health.override_health(engagement.owner, engagement.id, "red", "Vendor dispute", None)
    assert engagement.health_at() == "red" and engagement.health == "green"
