"""Turning due reminder rows into outbox emails: who gets one, why, and what it says."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from tracker.core import failures
from tracker.core.claims import drain
from tracker.extensions import db
from tracker.models import Engagement, Reminder, Role, TeamMember, User
from tracker.services import reminder_planning as planning
from tracker.services.outbox import enqueue
from tracker.services.reminder_planning import SUBJECT_MODELS, Target

log = logging.getLogger(__name__)
BATCH = 200

ACTIONS = {
    "milestone": "Please post a status update (on track, at risk, blocked, met or missed) "
    "with a note and evidence.",
    "checklist": "Please complete the item, or agree a new due date with the engagement owner.",
    "period": "Schedule the milestone review: every milestone of the period needs a verdict, "
    "then extend or begin knowledge transfer.",
}
PERIOD_NAMES = {"trial_end": "The 90-day trial", "period_end": "The current period"}
HOLD_ACTION = "Resume the engagement once work restarts, or tell the team the new date."


@dataclass(frozen=True)
class Recipient:
    user: User
    reason: str


def process_due(now: datetime, *, limit: int = BATCH) -> int:
    """Claim due reminder rows and queue their emails; returns how many reminders were sent."""
    return drain(Reminder, Reminder.due_at, now, partial(_process_one, now=now), limit=limit)


def _process_one(reminder_id: int, worker: str, now: datetime) -> int:
    """One reminder in one transaction (drain commits): emails queued + row marked, or nothing.

    Everything is flushed here, so a concurrent worker's duplicate email key fails in
    this try block and only this reminder is given up.
    """
    try:
        reminder = db.session.get(Reminder, reminder_id)
        if reminder is None or reminder.status != "pending" or reminder.claimed_by != worker:
            db.session.rollback()
            return 0
        outcome = _handle(reminder, now)
        marked = db.session.execute(
            update(Reminder)
            .where(
                Reminder.id == reminder_id,
                Reminder.claimed_by == worker,
                Reminder.status == "pending",
            )
            .values(status=outcome, processed_at=now, lease_until=None),
            execution_options={"synchronize_session": False},
        )
        if marked.rowcount != 1:  # our lease ran out and someone else took the row
            db.session.rollback()
            return 0
        db.session.flush()
        return int(outcome == "sent")
    except IntegrityError:  # a concurrent worker queued the same email key first
        db.session.rollback()
        return 0
    except Exception as exc:
        log.exception("reminder %s failed; it is retried after its lease", reminder_id)
        db.session.rollback()
        failures.record("reminder", reminder_id, f"{type(exc).__name__}: {exc} (retried later)")
        return 0


def _handle(reminder: Reminder, now: datetime) -> str:
    """Queue the emails if the reminder still holds ("sent"), else "skipped"."""
    # Judged under the engagement's row lock, so a hold committed after the claim wins.
    engagement = db.session.get(
        Engagement, reminder.engagement_id, with_for_update=True, populate_existing=True
    )
    rule = {r.name: r for r in planning.rules_for(engagement)}.get(reminder.rule)
    target = _target(reminder, engagement)
    if rule is None or target is None or not planning.applies(rule, target, engagement):
        return "skipped"
    anchor = planning.anchor_date(rule, target, engagement)
    if anchor is None or not planning.is_occurrence(rule, anchor, reminder.due_at):
        return "skipped"
    if superseded(rule, anchor, now):
        log.info("reminder %s (%s) skipped: its item is already overdue", reminder.id, rule.name)
        return "skipped"
    people = recipients_for(rule, target, engagement)
    for person in people:
        _queue_email(reminder, rule, target, engagement, anchor, person, now)
    if rule.repeat_every is not None:
        steps = (now - reminder.due_at) // rule.repeat_every + 1
        next_due = reminder.due_at + steps * rule.repeat_every
        planning.insert_next(rule, engagement.id, target.kind, target.id, next_due, now)
    return "sent" if people else "skipped"


def superseded(rule, anchor: date, now: datetime) -> bool:
    """A one-off "before the date" reminder reached only after the date (catch-up).

    Sent now it would read "is overdue by N days", a look-alike of the overdue rule's
    email with another Message-ID; so it is recorded as skipped instead.
    """
    if rule.repeat_every is not None or rule.offset >= timedelta(0):
        return False
    zone = ZoneInfo(current_app.config.get("TIMEZONE") or "UTC")
    return now.astimezone(zone).date() > anchor


def _target(reminder: Reminder, engagement: Engagement) -> Target | None:
    if reminder.subject_type == "period":
        return Target("period", engagement.id, engagement)
    model = SUBJECT_MODELS.get(reminder.subject_type)
    obj = db.session.get(model, reminder.subject_id) if model else None
    if obj is None or obj.engagement_id != engagement.id:
        return None
    return Target(reminder.subject_type, obj.id, obj)


def recipients_for(rule, target: Target, engagement: Engagement) -> list[Recipient]:
    """Each active person the rule names, once, with the reason they are getting it."""
    found: dict[int, Recipient] = {}
    for role in rule.recipients:
        for user, reason in _people(role, target, engagement):
            if user is not None and user.is_active and user.id not in found:
                found[user.id] = Recipient(user, reason)
    return list(found.values())


def _people(role: str, target: Target, engagement: Engagement):
    title = engagement.title
    if role == "owner":
        return [(engagement.owner, f"you own the engagement “{title}”")]
    if role == "item_owner":
        owner = getattr(target.obj, "owner", None)
        if owner is not None:
            return [(owner, "this checklist item is assigned to you")]
        return [(engagement.owner, f"the item has no owner and you own “{title}”")]
    if role == "stakeholders":
        return [(u, f"you follow the engagement “{title}”") for u in engagement.followers]
    if role == "provider":
        reason = f"you are on the {engagement.provider.name} team for “{title}”"
        return [(u, reason) for u in provider_users(engagement)]
    return []


def provider_users(engagement: Engagement) -> list[User]:
    """The provider organisation's users, plus team members with a provider account."""
    org = select(User).where(User.role == Role.PROVIDER, User.provider_id == engagement.provider_id)
    members = (
        select(User)
        .join(TeamMember, TeamMember.user_id == User.id)
        .where(TeamMember.engagement_id == engagement.id, User.role == Role.PROVIDER)
    )
    users = {u.id: u for u in db.session.scalars(org.order_by(User.id))}
    users.update({u.id: u for u in db.session.scalars(members) if u.id not in users})
    return list(users.values())


def _queue_email(reminder, rule, target, engagement, anchor, person: Recipient, now) -> None:
    context = email_context(rule, target, engagement, anchor, now)
    context.update(recipient=person.user, reason=person.reason)
    email = enqueue(
        f"{reminder.key}:to:{person.user.id}",
        person.user,
        context["subject"],
        render_template("email/reminder.txt", **context),
        render_template("email/reminder.html", **context),
        headers={"X-Tracker-Reminder": reminder.rule},
        category="reminder",
    )
    if email is not None:
        email.next_attempt_at = now  # deliverable in the same tick


def email_context(rule, target: Target, engagement: Engagement, anchor: date, now) -> dict:
    """What the email says: the item, when it is due, the action, and the link back."""
    zone = ZoneInfo(current_app.config.get("TIMEZONE") or "UTC")
    days = (anchor - now.astimezone(zone).date()).days
    what = _what(rule, target)
    when = _when(days, "ends" if target.kind == "period" else "is due", anchor)
    action = ACTIONS[target.kind]
    if rule.anchor == "expected_resume":  # a hold that outlasts its expected resume date
        what, when, action = (
            "The hold",
            f"was expected to end on {anchor:%a %-d %b %Y}",
            HOLD_ACTION,
        )
    fragment = "" if target.kind == "period" else f"#{target.kind}-{target.id}"
    base = current_app.config["BASE_URL"].rstrip("/")
    return {
        "subject": f"{what} {when} — {engagement.title}",
        "what": what,
        "when": when,
        "action": action,
        "link": f"{base}/engagements/{engagement.id}{fragment}",
        "engagement": engagement,
        "rule": rule,
        "due_date": anchor,
    }


def _what(rule, target: Target) -> str:
    if target.kind == "milestone":
        return f"Milestone “{target.obj.title}”"
    if target.kind == "checklist":
        return f"Checklist item “{target.obj.title}”"
    return PERIOD_NAMES.get(rule.anchor, "The period")


def _when(days: int, verb: str, day: date) -> str:
    stamp = f"{day:%a %-d %b %Y}"
    if days > 1:
        return f"{verb} in {days} days ({stamp})"
    if days == 1:
        return f"{verb} tomorrow ({stamp})"
    if days == 0:
        return f"{verb} today ({stamp})"
    late = "ended" if verb == "ends" else "is overdue"
    return f"{late} by {-days} day{'s' if days != -1 else ''} (since {stamp})"
