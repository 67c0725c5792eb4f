"""Turning due reminders into emails (tracker/notifications/reminder_delivery.py): the
batch renderer writes what Jinja's own `render` writes, and a batch reads the catch-up rows
of its own subjects, however many others the engagement has."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import select

from tests.support.scheduler import T0, add_milestone, frozen, trial_engagement
from tracker.extensions import db
from tracker.models import ChecklistItem, Reminder
from tracker.notifications import reminder_delivery
from tracker.services.workflow import reminder_planning

TODAY = T0.date()


def test_the_batch_renderer_writes_what_template_render_writes(app):
    with app.app_context():
        renderer = reminder_delivery.Renderer()
        context = {
            "recipient": SimpleNamespace(name="Ana <Ops> & Co"),
            "reason": "you own the engagement “Fraud <b>model</b>”",
            "what": "Checklist item “Laptop & VPN”",
            "when": "is overdue by 2 days (since Sat 28 Feb 2026)",
            "action": reminder_delivery.ACTIONS["checklist"],
            "link": "https://tracker.example/engagements/7#checklist-3",
            "engagement": SimpleNamespace(title="Fraud <b>model</b>", state="trial"),
            "schedule": "We send this reminder on the due date.",
            "due_date": TODAY,
            "subject": "ignored by the templates",
        }
        for template in (renderer.text, renderer.html):
            assert renderer.render(template, context) == template.render(**context)
        html = renderer.render(renderer.html, context)
        assert "Fraud &lt;b&gt;model&lt;/b&gt;" in html and "<b>model" not in html
        # The per-batch globals are not changed by one email's context.
        assert "recipient" not in renderer.text.globals


def test_a_batch_reads_the_catch_up_rows_of_its_subjects_only(app):
    with app.app_context():
        clock = frozen(app)
        engagement, owner, _ = trial_engagement(TODAY)
        items = db.session.scalars(
            select(ChecklistItem).where(ChecklistItem.engagement_id == engagement.id)
        ).all()
        for n, item in enumerate(items):
            item.status, item.owner_id = "open", owner.id
            item.due_date = TODAY - timedelta(days=1 + n % 3)
        milestones = [add_milestone(engagement, TODAY - timedelta(days=d)) for d in (1, 2)]
        reminder_planning.plan_reminders(engagement.id)
        db.session.commit()
        now = clock.advance(days=1)
        due = db.session.scalars(
            select(Reminder)
            .where(Reminder.engagement_id == engagement.id, Reminder.due_at <= now)
            .order_by(Reminder.id)
        ).all()
        kinds = {r.subject_type for r in due}
        assert {"checklist", "milestone"} <= kinds and len(due) > 4
        # A batch about one item and one milestone, among the engagement's other due rows.
        item_id, milestone_id = items[0].id, milestones[0].id
        batch = [
            next(r for r in due if (r.subject_type, r.subject_id) == ("checklist", item_id)),
            next(r for r in due if (r.subject_type, r.subject_id) == ("milestone", milestone_id)),
        ]

        def about(row):
            return row.subject_type, row.subject_id

        expected = {about(r): sorted(x.id for x in due if about(x) == about(r)) for r in batch}
        found = reminder_delivery.due_together(batch, now)
        assert {key: sorted(row.id for row in rows) for key, rows in found.items()} == expected
