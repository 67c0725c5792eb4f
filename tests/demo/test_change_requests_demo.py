"""The demo's change requests: one approved and one waiting on the forecasting trial, and
a trial whose approved requests drifted past the rule (issue 31)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import ChangeRequest, Engagement, Milestone, User
from tracker.services.change_requests import drift


def _engagement(title: str) -> Engagement:
    return db.session.scalar(select(Engagement).where(Engagement.title == title))


def test_the_demo_has_approved_and_waiting_requests_and_one_trial_past_the_drift_rule(
    app, load_demo
):
    load_demo()
    with app.app_context():
        manager = db.session.scalar(select(User).where(User.email == "manager@example.com"))
        forecasting = _engagement("Demand forecasting pod")
        states = db.session.scalars(
            select(ChangeRequest.state)
            .where(ChangeRequest.engagement_id == forecasting.id)
            .order_by(ChangeRequest.id)
        ).all()
        assert states == ["approved", "proposed"]
        assert drift.engagement_drift(manager, forecasting.id).slip_days == 14
        assert not any(r["code"] == "drift" for r in forecasting.health_reasons)
        assistant = _engagement("LLM support assistant")
        assert drift.engagement_drift(manager, assistant.id).slip_days == 25
        reasons = [r for r in assistant.health_reasons if r["code"] == "drift"]
        assert len(reasons) == 1 and "25 days of slip (over 21)" in reasons[0]["message"]
        assert assistant.effective_health in ("amber", "red")


def test_every_demo_trial_milestone_falls_inside_its_trial(app, load_demo):
    """The change requests that slipped the LLM trial's Day-90 milestone moved the trial's
    end with it: no trial milestone is due after the trial ends."""
    load_demo()
    with app.app_context():
        rows = db.session.execute(
            select(Engagement.title, Milestone.title, Milestone.due_date, Engagement.trial_end)
            .join(Milestone, Milestone.engagement_id == Engagement.id)
            .where(
                Engagement.trial_end.is_not(None),
                Milestone.period == 0,
                Milestone.removed_at.is_(None),
            )
        ).all()
        assert rows
        late = [row for row in rows if row.due_date > row.trial_end]
        assert late == []
        assistant = _engagement("LLM support assistant")
        day90 = db.session.scalar(
            select(Milestone.due_date).where(
                Milestone.engagement_id == assistant.id, Milestone.title == "Day-90 milestone"
            )
        )
        assert day90 == assistant.trial_end == assistant.trial_start + timedelta(days=115)
