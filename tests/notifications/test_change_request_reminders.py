"""A change request waiting more than three days reminds its approver, through the reminder
rules of the definition (issue 31); a decided one is never reminded about."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from tests.factories import add_milestone, make_engagement, make_user
from tracker.core import clock
from tracker.extensions import db
from tracker.models import OutboxEmail, Reminder
from tracker.notifications.reminder_delivery import process_due
from tracker.services.change_requests import service


def _raised():
    owner = make_user("manager", name="Dana Owner")
    provider = make_user("provider", provider="Northwind ML")
    engagement = make_engagement(owner, title="Forecasting trial")
    engagement.state = "trial"
    engagement.trial_start = engagement.period_start = date.today()
    engagement.trial_end = engagement.period_end = date.today() + timedelta(days=90)
    db.session.commit()
    milestone = add_milestone(engagement)
    requests = []
    for days in (14, 21):
        to = (milestone.due_date + timedelta(days=days)).isoformat()
        change = {"target": "milestone", "id": milestone.id, "field": "due_date", "to": to}
        requests.append(
            service.raise_request(provider, engagement.id, {"changes": [change], "why": "Late"})
        )
    return owner, requests


def test_the_owner_is_reminded_after_three_days_only_of_requests_still_waiting(ctx):
    owner, (waiting, decided) = _raised()
    planned = db.session.scalars(
        select(Reminder).where(Reminder.subject_type == "change_request")
    ).all()
    assert {r.subject_id for r in planned} == {waiting.id, decided.id}
    assert {r.due_at.date() for r in planned} == {date.today() + timedelta(days=3)}
    service.reject(make_user("admin"), decided.id, "Not in this trial")
    process_due(clock.now() + timedelta(days=2))
    assert db.session.scalars(select(OutboxEmail)).all() == []  # not before three days
    # just past the planned moment, on the third day whatever the time of day the test runs
    due = next(r.due_at for r in planned if r.subject_id == waiting.id)
    process_due(due + timedelta(minutes=1))
    emails = db.session.scalars(select(OutboxEmail)).all()
    assert [e.to_address for e in emails] == [owner.email]
    assert f"Change request #{waiting.id}" in emails[0].subject
    assert f"/change-requests/{waiting.id}" in emails[0].text_body
    assert "has waited 3 days for a decision" in emails[0].text_body
