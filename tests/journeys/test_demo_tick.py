"""A fresh demo: the first `flask scheduler tick` sends real reminders (offline, as .eml files)."""

from __future__ import annotations

from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import Engagement, OutboxEmail, WorkflowTimer


def test_first_tick_on_a_fresh_demo_sends_reminders(app, tmp_path):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    result = runner.invoke(args=["scheduler", "tick"])
    assert result.exit_code == 0, result.output
    files = list((tmp_path / "mail").glob("*.eml"))
    with app.app_context():
        sent = db.session.scalar(select(func.count()).where(OutboxEmail.status == "sent"))
        subjects = db.session.scalars(select(OutboxEmail.subject)).all()
        timers = db.session.scalar(select(func.count(WorkflowTimer.id)))
        open_periods = db.session.scalar(
            select(func.count(Engagement.id)).where(Engagement.state.in_(["trial", "extension"]))
        )
    assert sent >= 5 and len(files) == sent
    assert any("is overdue" in s for s in subjects)
    assert timers == open_periods  # every trial/extension has its review timer
    second = runner.invoke(args=["scheduler", "tick"])
    assert '"delivery": 0' in second.output and '"reminders": 0' in second.output
