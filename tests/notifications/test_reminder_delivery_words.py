"""Reminder emails say in words why the person gets them and when they are sent; no rule's
internal name appears (issue 27 item 6)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import render_template
from sqlalchemy import select

from tests.factories import add_milestone, make_engagement
from tracker.core import clock
from tracker.extensions import db
from tracker.models import ChecklistItem
from tracker.notifications.reminder_delivery import email_context, schedule_in_words
from tracker.services.workflow.reminder_planning import Target
from workflows.loader import load_definition

DEFINITIONS = sorted((Path(__file__).parents[2] / "workflows" / "definitions").glob("*.toml"))
RULES = [
    pytest.param(rule, id=f"{path.stem}:{rule.name}")
    for path in DEFINITIONS
    for rule in load_definition(path).reminders
]


def _change_request(engagement):
    from tracker.models import ChangeRequest

    request = ChangeRequest(
        engagement_id=engagement.id,
        raised_by_id=engagement.owner_id,
        raised_in_state="trial",
        changes=[],
        why="Labels arrived late",
    )
    db.session.add(request)
    db.session.commit()
    return request


def _rule(name: str):
    return next(p.values[0] for p in RULES if p.values[0].name == name)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("milestone_due_tomorrow", "We send this reminder 1 day before the due date."),
        ("milestone_due_soon", "We send this reminder 7 days before the due date."),
        (
            "milestone_overdue",
            "We send this reminder on the due date, then every 3 days until the milestone "
            "has a verdict.",
        ),
        (
            "checklist_overdue",
            "We send this reminder 1 day after the due date, then every 3 days until the item "
            "is complete.",
        ),
        ("trial_ending", "We send this reminder 7 days before the end of the trial."),
        (
            "hold_past_expected_resume",
            "We send this reminder 1 day after the date the hold was expected to end, then "
            "every 7 days until the engagement moves on.",
        ),
        (
            "change_request_waiting",
            "We send this reminder 3 days after the day it was raised, then every 2 days "
            "until it is decided.",
        ),
    ],
)
def test_schedule_is_said_in_words(name, words):
    assert schedule_in_words(_rule(name)) == words


@pytest.mark.parametrize("rule", RULES)
def test_no_reminder_email_shows_an_internal_rule_name(ctx, rule):
    engagement = make_engagement(title="LLM support assistant")
    if rule.subject == "milestone":
        obj = add_milestone(engagement, days=1, title="Day-30 milestone")
    elif rule.subject == "checklist":
        obj = db.session.scalars(
            select(ChecklistItem).where(ChecklistItem.engagement_id == engagement.id)
        ).first()
    elif rule.subject == "change_request":
        obj = _change_request(engagement)
    else:
        obj = engagement
    now = clock.now()
    context = email_context(rule, Target(rule.subject, obj.id, obj), engagement, now.date(), now)
    reason = "you own the engagement “LLM support assistant”"
    context.update(recipient=engagement.owner, reason=reason)
    for template in ("email/reminder.txt", "email/reminder.html"):
        body = render_template(template, **context)
        assert rule.name not in body and "Reminder rule" not in body
        assert f"You are getting this because {reason}." in body
        assert schedule_in_words(rule) in body
        assert "_" not in schedule_in_words(rule)  # no identifier leaks through the fallback


def test_a_milestone_reminder_asks_each_side_for_what_they_can_do(ctx):
    """A provider reports progress (up to done), never a verdict; the owner (a manager)
    gives the verdict; a follower is told who does what."""
    from tests.factories import make_user
    from tracker.notifications.reminder_delivery import Recipient, addressed

    engagement = make_engagement(title="Demand forecasting pod")
    milestone = add_milestone(engagement, days=-2, title="Feature pipeline in staging")
    rule = next(r for r in load_definition(DEFINITIONS[0]).reminders if r.subject == "milestone")
    now = clock.now()
    context = email_context(
        rule, Target("milestone", milestone.id, milestone), engagement, now.date(), now
    )
    provider = make_user("provider", provider="Northwind ML")
    follower = make_user("stakeholder")
    said = {
        who: render_template("email/reminder.txt", **addressed(context, Recipient(user, "r")))
        for who, user in (
            ("provider", provider),
            ("owner", engagement.owner),
            ("follower", follower),
        )
    }
    assert "(on track, at risk, blocked or done)" in said["provider"]
    assert "met or missed" not in said["provider"]
    assert "Please give the verdict (met or missed)" in said["owner"]
    assert "Please post a status update" not in said["follower"]
    assert "the engagement's owner gives the verdict" in said["follower"]
