"""Catch-up says each thing once (issue 32, ADR 0207): a checklist item due tomorrow, a tick
now, the scheduler down for three days, then one tick: its owner gets one message about it,
the most current one; two more ticks send nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.support.scheduler import T0, at, frozen, reminders_for, trial_engagement
from tracker.extensions import db
from tracker.models import ChecklistItem
from tracker.scheduling.tick import run_tick

# On PostgreSQL too (ADR 0216): reminder rows locked FOR UPDATE before sending.
pytestmark = [pytest.mark.smtp, pytest.mark.postgres]
TODAY = T0.date()


def test_three_days_down_then_one_tick_one_message_per_item_and_then_silence(make_app, smtp_server):
    app = make_app(**smtp_server.config())
    with app.app_context():
        clock = frozen(app)
        engagement, owner, _ = trial_engagement(TODAY)
        item = db.session.scalars(
            select(ChecklistItem).where(ChecklistItem.engagement_id == engagement.id)
        ).first()
        item.status, item.due_date, item.owner_id = "open", TODAY + timedelta(days=1), owner.id
        db.session.commit()
        item_id, title, owner_email = item.id, item.title, owner.email
        run_tick()  # now: nothing due about it yet
        assert smtp_server.messages == []
        clock.advance(days=3)  # down for three days
        run_tick()
        caught_up = smtp_server.messages
        rows = {
            (r.rule, r.status): r.reason for r in reminders_for("checklist", item_id) if r.reason
        }
        due_at = at(TODAY + timedelta(days=2))
        for _ in range(2):
            clock.advance(minutes=1)
            run_tick()
        after = smtp_server.messages[len(caught_up) :]
    about_it = [m for m in caught_up if title in m["Subject"]]
    assert [(m["To"], m["X-Tracker-Reminder"]) for m in about_it] == [
        (owner_email, "checklist_overdue")
    ]
    assert about_it[0]["Subject"].startswith(f"Checklist item “{title}” is overdue by 2 days")
    assert rows == {
        ("checklist_due", "skipped"): (
            f"superseded by checklist_overdue due {due_at:%Y-%m-%d %H:%M} UTC in the same catch-up"
        )
    }
    assert after == []
