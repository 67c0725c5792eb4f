"""Date changes move the workflow timers and reminders that count from them.

However a date changes (a service, the API, a page or a data migration writing the
row), the same transaction re-plans: nothing fires at the old instant, nothing is lost
at the new one, nothing already sent is sent again. TEST_DB picks SQLite or PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.support.scheduler import T0, at, frozen, outbox_keys, trial_engagement
from tracker.extensions import db
from tracker.models import Engagement, Reminder, WorkflowTimer
from tracker.scheduling.tick import run_tick
from tracker.services.workflow.transitions import start_of_day

# On PostgreSQL too (ADR 0216): the engagement row locked FOR UPDATE, timer upserts.
pytestmark = pytest.mark.postgres

TODAY = T0.date()


def _timers(engagement_id, status="pending"):
    return list(
        db.session.scalars(
            select(WorkflowTimer).where(
                WorkflowTimer.engagement_id == engagement_id, WorkflowTimer.status == status
            )
        )
    )


def _period_reminders(engagement_id, status="pending"):
    return list(
        db.session.scalars(
            select(Reminder).where(
                Reminder.engagement_id == engagement_id,
                Reminder.subject_type == "period",
                Reminder.status == status,
            )
        )
    )


@pytest.fixture
def trial(app):
    """An engagement 80 days into its 90-day trial, with the review timer it set on entry."""
    with app.app_context():
        clock = frozen(app)
        engagement, _owner, _provider = trial_engagement(TODAY, trial_day=80)
        db.session.add(
            WorkflowTimer(
                engagement_id=engagement.id,
                event="begin_review",
                from_state="trial",
                due_at=start_of_day(engagement.trial_end),
            )
        )
        db.session.commit()
        yield clock, engagement.id
        db.session.remove()


def test_moving_the_trial_end_moves_its_review_timer_and_reminder(trial):
    clock, eid = trial
    engagement = db.session.get(Engagement, eid)
    old_end = engagement.trial_end
    [reminder] = _period_reminders(eid)
    assert reminder.due_at == at(old_end - timedelta(days=7))
    new_end = old_end + timedelta(days=14)
    engagement.trial_end = engagement.period_end = new_end  # as a data migration would
    db.session.commit()
    [timer] = _timers(eid)
    assert timer.due_at == start_of_day(new_end)
    [reminder] = _period_reminders(eid)
    assert reminder.due_at == at(new_end - timedelta(days=7))
    # The old instants pass quietly ...
    clock.set(start_of_day(old_end) + timedelta(hours=9))
    result = run_tick()
    assert (result["timers"], result["reminders"]) == (0, 0)
    assert db.session.get(Engagement, eid).state == "trial"
    # ... and the new ones fire once each.
    clock.set(at(new_end - timedelta(days=7)) + timedelta(minutes=5))
    assert run_tick()["reminders"] == 1
    assert run_tick()["reminders"] == 0
    clock.set(start_of_day(new_end) + timedelta(hours=1))
    assert run_tick()["timers"] == 1
    assert run_tick()["timers"] == 0
    assert db.session.get(Engagement, eid).state == "milestone_review"
    assert [k.split(":")[0] for k in outbox_keys()] == ["trial_ending"]


def test_a_reminder_already_sent_is_not_sent_again_when_the_date_moves_back(trial):
    clock, eid = trial
    engagement = db.session.get(Engagement, eid)
    end = engagement.trial_end
    clock.set(at(end - timedelta(days=7)) + timedelta(minutes=5))
    assert run_tick()["reminders"] == 1
    engagement = db.session.get(Engagement, eid)
    engagement.trial_end = engagement.period_end = end + timedelta(days=3)
    db.session.commit()
    engagement = db.session.get(Engagement, eid)
    engagement.trial_end = engagement.period_end = end  # and back again
    db.session.commit()
    assert [r.due_at for r in _period_reminders(eid)] == []  # sent already: not planned again
    clock.set(at(end - timedelta(days=7)) + timedelta(hours=2))
    assert run_tick()["reminders"] == 0
    assert len(outbox_keys()) == 1


def test_clearing_a_date_cancels_its_timer_and_setting_it_plans_one(trial):
    _clock, eid = trial
    engagement = db.session.get(Engagement, eid)
    end = engagement.trial_end
    engagement.trial_end = None
    db.session.commit()
    assert _timers(eid) == [] and len(_timers(eid, "cancelled")) == 1
    engagement = db.session.get(Engagement, eid)
    engagement.trial_end = end + timedelta(days=1)
    db.session.commit()
    [timer] = _timers(eid)
    assert timer.due_at == start_of_day(end + timedelta(days=1))


def test_an_extension_period_end_moves_its_review_timer(trial):
    _clock, eid = trial
    engagement = db.session.get(Engagement, eid)
    engagement.state, engagement.current_period = "extension", 1
    engagement.period_start = TODAY
    engagement.period_end = TODAY + timedelta(days=90)
    db.session.commit()
    db.session.add(
        WorkflowTimer(
            engagement_id=eid,
            event="begin_review",
            from_state="extension",
            due_at=start_of_day(TODAY + timedelta(days=90)),
        )
    )
    db.session.commit()
    engagement = db.session.get(Engagement, eid)
    engagement.period_end = TODAY + timedelta(days=60)
    db.session.commit()
    due = sorted(t.due_at for t in _timers(eid) if t.from_state == "extension")
    assert due == [start_of_day(TODAY + timedelta(days=60))]
    [reminder] = _period_reminders(eid)
    assert (reminder.rule, reminder.due_at) == (
        "extension_ending",
        at(TODAY + timedelta(days=53)),
    )
