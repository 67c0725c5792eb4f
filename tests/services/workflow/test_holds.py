"""On hold: nothing fires, nothing is sent, nothing goes stale; resume moves the dates on.

Runs on the database TEST_DB names (SQLite and PostgreSQL), with a fixed clock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.support.scheduler import T0, add_milestone, at, frozen, outbox_keys, trial_engagement
from tracker.errors import Conflict, ValidationFailed
from tracker.extensions import db
from tracker.models import (
    AuditEvent,
    ChecklistItem,
    Engagement,
    Milestone,
    OutboxEmail,
    Reminder,
    WorkflowTimer,
)
from tracker.scheduling import claims
from tracker.scheduling.tick import run_tick
from tracker.services.workflow import timers, transitions
from tracker.services.workflow.transitions import start_of_day

# On PostgreSQL too (ADR 0216): timestamps with time zones and timers (FOR UPDATE).
pytestmark = pytest.mark.postgres

TODAY = T0.date()


def _review_timer(engagement) -> WorkflowTimer:
    """The timer entering the trial would have set (the test builds the trial directly)."""
    timer = WorkflowTimer(
        engagement_id=engagement.id,
        event="begin_review",
        from_state=engagement.state,
        due_at=start_of_day(engagement.trial_end),
    )
    db.session.add(timer)
    db.session.commit()
    return timer


def _pending_timers(engagement_id):
    return list(
        db.session.scalars(
            select(WorkflowTimer).where(
                WorkflowTimer.engagement_id == engagement_id, WorkflowTimer.status == "pending"
            )
        )
    )


@pytest.fixture
def held_world(app):
    """An engagement 40 days into its trial with a review timer, open and closed items."""
    with app.app_context():
        clock = frozen(app)
        engagement, owner, _provider = trial_engagement(TODAY, trial_day=40)
        _review_timer(engagement)
        ahead = add_milestone(engagement, TODAY + timedelta(days=10), title="Day-50")
        late = add_milestone(engagement, TODAY - timedelta(days=5), title="Day-35")
        judged = add_milestone(engagement, TODAY + timedelta(days=20), title="Judged")
        judged.status = "met"
        item = db.session.scalars(
            select(ChecklistItem).where(ChecklistItem.engagement_id == engagement.id)
        ).first()
        item.status, item.due_date = "open", TODAY + timedelta(days=5)
        db.session.commit()
        ids = {"engagement": engagement.id, "ahead": ahead.id, "late": late.id}
        ids |= {"judged": judged.id, "item": item.id, "owner": owner.id}
        yield clock, ids
        db.session.remove()


def _hold(ids, **inputs):
    owner = db.session.get(Engagement, ids["engagement"]).owner
    inputs = {"reason": "Client budget freeze", **inputs}
    return transitions.fire(owner, ids["engagement"], "put_on_hold", inputs)


def _resume(ids, **inputs):
    owner = db.session.get(Engagement, ids["engagement"]).owner
    return transitions.fire(owner, ids["engagement"], "resume", inputs)


def test_a_21_day_hold_stops_the_clock_and_resume_moves_every_date_on(held_world):
    clock, ids = held_world
    old_end = db.session.get(Engagement, ids["engagement"]).trial_end
    engagement = _hold(ids, expected_resume=TODAY + timedelta(days=14))
    assert (engagement.state, engagement.paused_from_state) == ("on_hold", "trial")
    assert engagement.pause_reason == "Client budget freeze"
    assert _pending_timers(ids["engagement"]) == []
    assert engagement.health == "amber"
    assert [r["code"] for r in engagement.health_reasons] == ["paused"]
    assert engagement.health_reasons[0]["message"] == (
        f"On hold since {TODAY:%-d %b}, reason: Client budget freeze; "
        f"expected to resume {TODAY + timedelta(days=14):%-d %b}"
    )
    for day in range(1, 22):  # a tick every day of the hold
        clock.set(T0 + timedelta(days=day))
        result = run_tick()
        assert result["timers"] == 0
    engagement = db.session.get(Engagement, ids["engagement"])
    assert engagement.state == "on_hold"
    # Not red, not stale, not overdue: only the hold (the day-35 milestone stays quiet).
    assert [r["code"] for r in engagement.health_reasons] == ["paused"]
    # The only mail in 21 days: the owner is told the expected resume date has passed.
    sent = db.session.scalars(select(Reminder.rule).where(Reminder.status == "sent")).all()
    assert sent == ["hold_past_expected_resume"]
    assert [k.split(":")[0] for k in outbox_keys()] == ["hold_past_expected_resume"]
    subject = db.session.scalars(select(OutboxEmail.subject)).one()
    expected = TODAY + timedelta(days=14)
    assert subject.startswith(f"The hold was expected to end on {expected:%a %-d %b %Y}")

    engagement = _resume(ids)
    moved = timedelta(days=21)
    assert engagement.state == "trial" and engagement.paused_from_state is None
    assert engagement.trial_end == engagement.period_end == old_end + moved
    due = {m.id: m.due_date for m in db.session.scalars(select(Milestone))}
    assert due[ids["ahead"]] == TODAY + timedelta(days=10) + moved
    assert due[ids["late"]] == TODAY - timedelta(days=5)  # overdue before the hold: unmoved
    assert due[ids["judged"]] == TODAY + timedelta(days=20)  # judged: unmoved
    assert db.session.get(ChecklistItem, ids["item"]).due_date == TODAY + timedelta(days=26)
    [timer] = _pending_timers(ids["engagement"])
    assert timer.due_at == start_of_day(old_end + moved)
    record = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "resume")).one()
    assert record.data["hold"]["held_days"] == 21
    assert {s["what"] for s in record.data["hold"]["shifts"]} == {
        "trial_end",
        "period_end",
        "Day-50",
        db.session.get(ChecklistItem, ids["item"]).title,
    }
    # Reminders follow the new dates: the day-50 milestone's next reminder is planned anew.
    pending = db.session.scalars(
        select(Reminder.due_at).where(
            Reminder.subject_type == "milestone",
            Reminder.subject_id == ids["ahead"],
            Reminder.status == "pending",
        )
    ).all()
    new_due = TODAY + timedelta(days=10) + moved
    # due soon (7 days before), due tomorrow, overdue (on the day): all at the new due date
    assert sorted(pending) == [at(new_due - timedelta(days=d)) for d in (7, 1, 0)]

    # Nothing at the old instant; exactly once at the new one.
    clock.set(start_of_day(old_end) + timedelta(hours=1))
    assert run_tick()["timers"] == 0
    clock.set(start_of_day(old_end + moved) + timedelta(hours=1))
    assert run_tick()["timers"] == 1
    assert run_tick()["timers"] == 0
    assert db.session.get(Engagement, ids["engagement"]).state == "milestone_review"


def test_resume_can_keep_the_dates(held_world):
    clock, ids = held_world
    old_end = db.session.get(Engagement, ids["engagement"]).trial_end
    _hold(ids)
    clock.set(T0 + timedelta(days=9))
    engagement = _resume(ids, shift_dates="no")
    assert engagement.trial_end == old_end
    assert db.session.get(Milestone, ids["ahead"]).due_date == TODAY + timedelta(days=10)
    [timer] = _pending_timers(ids["engagement"])
    assert timer.due_at == start_of_day(old_end)
    record = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "resume")).one()
    assert record.data["hold"] == {"held_days": 9, "shifted": False, "shifts": []}


def test_a_tick_that_claimed_the_timer_before_the_hold_never_fires_it(held_world):
    clock, ids = held_world
    engagement = db.session.get(Engagement, ids["engagement"])
    [timer] = _pending_timers(ids["engagement"])
    now = timer.due_at + timedelta(minutes=1)
    clock.set(now)
    worker, claimed = claims.claim(WorkflowTimer, WorkflowTimer.due_at, now)
    assert claimed == [timer.id]
    transitions.fire(engagement.owner, engagement.id, "put_on_hold", {"reason": "Freeze"})
    db.session.expire_all()
    assert timers._fire_one(timer.id, worker, now) == 0
    db.session.commit()
    assert db.session.get(Engagement, ids["engagement"]).state == "on_hold"
    assert db.session.get(WorkflowTimer, timer.id).status == "cancelled"


def test_a_timer_left_pending_for_a_held_engagement_is_dropped_not_fired(held_world):
    clock, ids = held_world
    [timer] = _pending_timers(ids["engagement"])
    _hold(ids)
    # Even a timer that stayed pending (written by another path) does not fire on hold.
    db.session.get(WorkflowTimer, timer.id).status = "pending"
    db.session.commit()
    clock.set(timer.due_at + timedelta(minutes=1))
    assert run_tick()["timers"] == 0
    assert db.session.get(Engagement, ids["engagement"]).state == "on_hold"
    assert db.session.get(WorkflowTimer, timer.id).status == "cancelled"


def test_bad_holds_and_resumes_are_refused_and_change_nothing(held_world):
    _clock, ids = held_world
    with pytest.raises(Conflict):
        _resume(ids)  # not on hold
    with pytest.raises(ValidationFailed) as caught:
        _hold(ids, reason="  ")
    assert "reason" in caught.value.errors
    _hold(ids)
    with pytest.raises(Conflict):
        _hold(ids)  # already on hold
    with pytest.raises(ValidationFailed) as caught:
        _resume(ids, shift_dates="maybe")
    assert "shift_dates" in caught.value.errors
    engagement = db.session.get(Engagement, ids["engagement"])
    transitions.fire(engagement.owner, engagement.id, "terminate", {"reason": "Cancelled"})
    engagement = db.session.get(Engagement, ids["engagement"])
    assert engagement.is_closed and engagement.paused_from_state is None
    with pytest.raises(Conflict):
        _hold(ids)  # closed
