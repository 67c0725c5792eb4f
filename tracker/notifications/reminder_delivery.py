"""Turning due reminder rows into outbox emails: who gets one, why, and what it says."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from tracker.core import failures
from tracker.core.upsert import insert
from tracker.extensions import db
from tracker.models import ChecklistItem, Engagement, OutboxEmail, Reminder, Role, TeamMember, User
from tracker.scheduling import claims
from tracker.scheduling.claims import claim
from tracker.services.messaging.outbox import enqueue, message_id_for
from tracker.services.workflow import reminder_planning as planning
from tracker.services.workflow.reminder_planning import SUBJECT_MODELS, Target
from workflows.reminders import Occurrence, superseded

log = logging.getLogger(__name__)
BATCH = 200

ACTIONS = {
    "milestone": "Please post a status update (on track, at risk, blocked or done) "
    "with a note and evidence.",
    "checklist": "Please complete the item, or agree a new due date with the engagement owner.",
    "period": "Schedule the milestone review: every milestone of the period needs a verdict, "
    "then extend or begin knowledge transfer.",
    "change_request": "Compare the changes, then approve them or reject the request with a reason.",
}
PERIOD_NAMES = {"trial_end": "The 90-day trial", "period_end": "The current period"}
# A rule's timing in words for the email's footer (never the rule's internal name).
ANCHOR_WORDS = {
    "due_date": "the due date",  # for a change request: the day it was raised
    "trial_end": "the end of the trial",
    "period_end": "the end of the current period",
    "expected_resume": "the date the hold was expected to end",
}
UNTIL_WORDS = {
    "milestone": "until the milestone has a verdict",
    "checklist": "until the item is complete",
    "period": "until the engagement moves on",
    "change_request": "until it is decided",
}
HOLD_ACTION = "Resume the engagement once work restarts, or tell the team the new date."
# A milestone's action as each side can take it: the provider reports progress (up to
# "done"); the verdict, met or missed, is a manager's or an admin's; a follower reads.
MILESTONE_VERDICT = (
    "Please give the verdict (met or missed) against the success criteria, "
    "or ask the provider for a status update."
)
MILESTONE_FOLLOWER = (
    "The provider posts status updates; the engagement's owner gives the verdict (met or missed)."
)


def addressed(context: dict, person: Recipient) -> dict:
    """The email's context for this recipient: a milestone's action is the one they can
    take (a provider asked for a verdict they may not give was the old wording)."""
    context = dict(context, recipient=person.user, reason=person.reason)
    if context["action"] == ACTIONS["milestone"] and person.user.role != Role.PROVIDER:
        client_side = person.user.role in (Role.ADMIN, Role.MANAGER)
        context["action"] = MILESTONE_VERDICT if client_side else MILESTONE_FOLLOWER
    return context


@dataclass(frozen=True)
class Recipient:
    user: User
    reason: str


def pending(now, midnight):
    """SQL truth value: a reminder is due (what `process_due` would claim)."""
    return claims.pending(Reminder, Reminder.due_at, now)


def process_due(now: datetime, *, limit: int = BATCH) -> int:
    """Claim due reminder rows and queue their emails; returns how many reminders were sent.

    Each claimed batch is materialised set-based in one transaction (ADR 0165): a fixed
    number of reads for the whole batch, the emails and the next occurrences as bulk
    INSERTs, the rows marked with one UPDATE per outcome, one commit. If anything in the
    batch fails, it is rolled back and its rows are processed one by one, so a failing
    row is counted and retried alone and never holds up the others (ADR 0130).
    """
    sent = 0
    lease = claims.step_lease()
    while True:
        worker, ids = claim(Reminder, Reminder.due_at, now, limit=limit, lease=lease)
        if ids:
            sent += _process_batch(ids, worker, now, lease)
        if len(ids) < limit:
            return sent


def _process_batch(ids: list[int], worker: str, now: datetime, lease: timedelta) -> int:
    """The batch set-based under a heartbeat that keeps the lease (ADR 0208) until the
    rows are marked; on failure, one by one, renewing the lease between rows."""
    try:
        with claims.Heartbeat(Reminder, ids, worker, lease) as heartbeat:
            sent = materialise(ids, worker, now, before_writing=heartbeat.stop)
        db.session.commit()
        return sent
    except Exception as exc:  # isolate the culprit: the same rows, one transaction each
        db.session.rollback()
        log.info("reminder batch of %s fell back to one by one: %s", len(ids), exc)
    sent = 0
    keeper = claims.Keeper(Reminder, ids, worker, lease)
    for reminder_id in ids:
        if not keeper.keep(reminder_id):
            continue  # taken over by another worker
        sent += _process_one(reminder_id, worker, now)
        db.session.commit()
        keeper.done(reminder_id)
    return sent


class _LostLease(Exception):
    """Some rows of the batch were taken over by another worker since the claim."""


def materialise(ids: list[int], worker: str, now: datetime, before_writing=None) -> int:
    """Turn claimed reminder rows into outbox emails, set-based; returns how many were sent.

    Writes into the session without committing; raises if any row cannot be handled
    (the caller then falls back to one row per transaction). `before_writing` is called
    before the first write (the caller stops its lease heartbeat there: its renewal must
    not wait on this transaction's locks, nor this on it).
    """
    reminders = db.session.scalars(
        select(Reminder)
        .where(Reminder.id.in_(ids), Reminder.status == "pending", Reminder.claimed_by == worker)
        .order_by(Reminder.id)
    ).all()
    if not reminders:
        return 0
    engagements = _locked_engagements({r.engagement_id for r in reminders})
    targets = _targets_of(reminders, engagements)
    providers = _provider_users_of(list(engagements.values()))
    together = due_together(reminders, now)
    renderer = Renderer()
    emails: list[dict] = []
    nexts: list[tuple] = []
    outcomes: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    rules_of: dict[int, dict] = {}
    for reminder in reminders:
        engagement = engagements.get(reminder.engagement_id)
        if engagement is not None and engagement.id not in rules_of:
            rules_of[engagement.id] = {r.name: r for r in planning.rules_for(engagement)}
        rules = rules_of.get(reminder.engagement_id, {})
        target = targets.get((reminder.subject_type, reminder.subject_id))
        if reminder.subject_type == "period" and engagement is not None:
            target = Target("period", engagement.id, engagement)
        decision = decide(
            reminder,
            rules.get(reminder.rule),
            target,
            engagement,
            now,
            providers,
            together.get((reminder.subject_type, reminder.subject_id), ()),
            rules,
        )
        outcome, rule, anchor, people, reason = decision
        for person in people:
            emails.append(
                _email_row(reminder, rule, target, engagement, anchor, person, now, renderer)
            )
        if outcome == "sent" and rule.repeat_every is not None:
            nexts.append(
                (
                    rule.name,
                    engagement.id,
                    target.kind,
                    target.id,
                    next_instant(reminder, rule, now),
                )
            )
        outcomes[(outcome, reason)].append(reminder.id)
    if before_writing is not None:
        before_writing()
    _insert_emails(emails)
    planning.insert_next(nexts, now)
    marked = _mark(outcomes, worker, now)
    if marked != len(reminders):
        raise _LostLease(f"{len(reminders) - marked} rows were taken over")
    return len(outcomes.get(("sent", None), ()))


def _mark(outcomes: dict, worker: str, now: datetime) -> int:
    """One UPDATE per (outcome, reason) and chunk; returns how many rows were still ours."""
    marked = 0
    for (outcome, reason), part_ids in outcomes.items():
        for part in planning.chunks(part_ids):
            marked += db.session.execute(
                update(Reminder)
                .where(
                    Reminder.id.in_(part),
                    Reminder.claimed_by == worker,
                    Reminder.status == "pending",
                )
                .values(status=outcome, processed_at=now, lease_until=None, reason=reason),
                execution_options={"synchronize_session": False},
            ).rowcount
    return marked


def _locked_engagements(ids: set[int]) -> dict[int, Engagement]:
    """The batch's engagements under row locks, taken in id order (no deadlock between
    two workers), then loaded fresh with what the emails need."""
    ordered = sorted(ids)
    for part in planning.chunks(ordered):
        db.session.execute(
            select(Engagement.id)
            .where(Engagement.id.in_(part))
            .order_by(Engagement.id)
            .with_for_update()
        ).all()
    found: dict[int, Engagement] = {}
    for part in planning.chunks(ordered):
        rows = db.session.scalars(
            select(Engagement)
            .where(Engagement.id.in_(part))
            .options(
                joinedload(Engagement.owner),
                joinedload(Engagement.provider),
                selectinload(Engagement.followers),
            )
            .execution_options(populate_existing=True)
        ).unique()
        found.update({e.id: e for e in rows})
    return found


def _targets_of(reminders, engagements: dict[int, Engagement]) -> dict[tuple[str, int], Target]:
    """The milestones and checklist items the batch is about: one query per kind."""
    wanted: dict[str, list[int]] = defaultdict(list)
    for r in reminders:
        if r.subject_type in SUBJECT_MODELS:
            wanted[r.subject_type].append(r.subject_id)
    found: dict[tuple[str, int], Target] = {}
    for kind, subject_ids in wanted.items():
        model = SUBJECT_MODELS[kind]
        query = select(model)
        if model is ChecklistItem:
            query = query.options(joinedload(ChecklistItem.owner))
        for part in planning.chunks(sorted(set(subject_ids))):
            for obj in db.session.scalars(query.where(model.id.in_(part))):
                if obj.engagement_id in engagements:
                    found[(kind, obj.id)] = Target(kind, obj.id, obj)
    return found


def _provider_users_of(engagements: list[Engagement]) -> dict[int, list[User]]:
    """provider_users() for every engagement of the batch, in two queries."""
    if not engagements:
        return {}
    org_ids = sorted({e.provider_id for e in engagements})
    by_org: dict[int, list[User]] = defaultdict(list)
    org_users = select(User).where(User.role == Role.PROVIDER, User.provider_id.in_(org_ids))
    for user in db.session.scalars(org_users.order_by(User.id)):
        by_org[user.provider_id].append(user)
    members: dict[int, list[User]] = defaultdict(list)
    team = (
        select(TeamMember.engagement_id, User)
        .join(User, TeamMember.user_id == User.id)
        .where(
            TeamMember.engagement_id.in_([e.id for e in engagements]), User.role == Role.PROVIDER
        )
    )
    for engagement_id, user in db.session.execute(team):
        members[engagement_id].append(user)
    result = {}
    for e in engagements:
        users = {u.id: u for u in by_org.get(e.provider_id, ())}
        users.update({u.id: u for u in members.get(e.id, ()) if u.id not in users})
        result[e.id] = list(users.values())
    return result


def _insert_emails(rows: list[dict]) -> None:
    """Bulk INSERT ... ON CONFLICT (key) DO NOTHING: a key already queued (by a concurrent
    worker, or before a crash) is left as it is."""
    if not rows:
        return
    # One statement executed for every row (executemany): compiled once, not per chunk.
    table = OutboxEmail.__table__
    db.session.execute(insert(table).on_conflict_do_nothing(index_elements=["key"]), rows)


class Renderer:
    """The reminder templates, loaded once per batch and rendered per email.

    `Template.render` merges the environment's globals (a ChainMap) into a new dict for
    every call, which cost more than rendering the short template itself; here they are
    merged once per batch and each email's context is laid over that one dict.
    """

    def __init__(self) -> None:
        env = current_app.jinja_env
        self.text = env.get_template("email/reminder.txt")
        self.html = env.get_template("email/reminder.html")
        self._globals = {
            self.text: dict(self.text.globals),
            self.html: dict(self.html.globals),
        }

    def render(self, template, context: dict) -> str:
        """What `template.render(**context)` returns."""
        ctx = template.new_context({**self._globals[template], **context}, shared=True)
        try:
            return template.environment.concat(template.root_render_func(ctx))
        except Exception:
            return template.environment.handle_exception()


def _email_row(reminder, rule, target, engagement, anchor, person, now, renderer) -> dict:
    context = addressed(email_context(rule, target, engagement, anchor, now), person)
    key = f"{reminder.key}:to:{person.user.id}"
    return {
        "key": key,
        "message_id": message_id_for(key),
        "to_address": person.user.email,
        "to_user_id": person.user.id,
        "subject": context["subject"][:300],
        "text_body": renderer.render(renderer.text, context),
        "html_body": renderer.render(renderer.html, context),
        "headers": {"X-Tracker-Reminder": reminder.rule},
        "category": "reminder",
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,  # deliverable in the same tick
        "created_at": now,
    }


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
        outcome, reason = _handle(reminder, now)
        marked = db.session.execute(
            update(Reminder)
            .where(
                Reminder.id == reminder_id,
                Reminder.claimed_by == worker,
                Reminder.status == "pending",
            )
            .values(status=outcome, processed_at=now, lease_until=None, reason=reason),
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


def _handle(reminder: Reminder, now: datetime) -> tuple[str, str | None]:
    """Queue the emails if the reminder still holds ("sent"), else "skipped" (and why)."""
    # Judged under the engagement's row lock, so a hold committed after the claim wins.
    engagement = db.session.get(
        Engagement, reminder.engagement_id, with_for_update=True, populate_existing=True
    )
    rule = {r.name: r for r in planning.rules_for(engagement)}.get(reminder.rule)
    target = _target(reminder, engagement)
    together = due_together([reminder], now).get((reminder.subject_type, reminder.subject_id), ())
    outcome, rule, anchor, people, reason = decide(
        reminder, rule, target, engagement, now, together=together
    )
    for person in people:
        _queue_email(reminder, rule, target, engagement, anchor, person, now)
    if outcome == "sent" and rule.repeat_every is not None:
        next_due = next_instant(reminder, rule, now)
        planning.insert_next([(rule.name, engagement.id, target.kind, target.id, next_due)], now)
    return outcome, reason


class Decision(NamedTuple):
    outcome: str  # "sent" or "skipped"
    rule: object
    anchor: date | None
    people: list
    reason: str | None = None  # why it was skipped, kept on the row


def decide(
    reminder, rule, target, engagement, now: datetime, providers=None, together=(), rules=None
):
    """Whether the reminder still holds, and for whom: a `Decision`.

    The one judgment both the batch and the one-by-one path use. `together` are the
    other reminder rows about the same subject due by now (`due_together`): of those
    about one item only the most current is sent (ADR 0207, the rule lives with the
    reminder rules in workflows/reminders.py). `rules` are the engagement's rules by name
    when the caller has them (a batch reads them once per engagement, not per reminder).
    """
    if engagement is None or rule is None or target is None:
        return Decision("skipped", rule, None, [], "its rule, engagement or item is gone")
    if not planning.applies(rule, target, engagement):
        return Decision("skipped", rule, None, [], "its rule no longer applies")
    anchor = planning.anchor_date(rule, target, engagement)
    if anchor is None or not planning.is_occurrence(rule, anchor, reminder.due_at):
        return Decision("skipped", rule, anchor, [], "its date has moved")
    if rules is None:
        rules = {r.name: r for r in planning.rules_for(engagement)}
    others = [
        Occurrence(rules[row.rule], row.due_at)
        for row in together
        if row.id != reminder.id
        and row.rule in rules
        and planning.applies(rules[row.rule], target, engagement)
    ]
    zone = ZoneInfo(current_app.config.get("TIMEZONE") or "UTC")
    why = superseded(Occurrence(rule, reminder.due_at), others, anchor, now.astimezone(zone).date())
    if why is not None:
        log.info("reminder %s (%s) skipped: %s", reminder.id, rule.name, why)
        return Decision("skipped", rule, anchor, [], why)
    people = recipients_for(rule, target, engagement, providers)
    if not people:
        return Decision("skipped", rule, anchor, [], "nobody active to send it to")
    return Decision("sent", rule, anchor, people)


def due_together(reminders, now: datetime) -> dict[tuple[str, int], list]:
    """Per subject of `reminders`, the reminder rows about it due by `now` that are still
    to be sent or were sent at or after the earliest of them fell due: what one catch-up
    reaches together. One query per chunk of engagements."""
    if not reminders:
        return {}
    subjects = {(r.subject_type, r.subject_id) for r in reminders}
    since = min(r.due_at for r in reminders)
    by_kind: dict[str, set[int]] = defaultdict(set)
    for kind, subject_id in subjects:
        by_kind[kind].add(subject_id)
    # Only rows about the batch's subjects: a big engagement has many more (a batch used
    # to read every due row of its engagements, once per batch).
    about_batch = or_(
        *(
            and_(Reminder.subject_type == kind, Reminder.subject_id.in_(sorted(ids)))
            for kind, ids in sorted(by_kind.items())
        )
    )
    found: dict[tuple[str, int], list] = defaultdict(list)
    engagement_ids = sorted({r.engagement_id for r in reminders})
    for part in planning.chunks(engagement_ids, per_item=1 + len(subjects) // len(engagement_ids)):
        rows = db.session.execute(
            select(
                Reminder.id,
                Reminder.rule,
                Reminder.subject_type,
                Reminder.subject_id,
                Reminder.due_at,
            ).where(
                Reminder.engagement_id.in_(part),
                about_batch,
                Reminder.due_at <= now,
                Reminder.due_at >= since,
                or_(
                    Reminder.status == "pending",
                    and_(Reminder.status == "sent", Reminder.processed_at >= since),
                ),
            )
        )
        for row in rows:
            if (row.subject_type, row.subject_id) in subjects:
                found[(row.subject_type, row.subject_id)].append(row)
    return found


def next_instant(reminder: Reminder, rule, now: datetime) -> datetime:
    """A repeating rule's first occurrence after `now` (catch-up plans one, not a backlog)."""
    steps = (now - reminder.due_at) // rule.repeat_every + 1
    return reminder.due_at + steps * rule.repeat_every


def _target(reminder: Reminder, engagement: Engagement) -> Target | None:
    if reminder.subject_type == "period":
        return Target("period", engagement.id, engagement)
    model = SUBJECT_MODELS.get(reminder.subject_type)
    obj = db.session.get(model, reminder.subject_id) if model else None
    if obj is None or obj.engagement_id != engagement.id:
        return None
    return Target(reminder.subject_type, obj.id, obj)


def recipients_for(rule, target: Target, engagement: Engagement, providers=None) -> list[Recipient]:
    """Each active person the rule names, once, with the reason they are getting it.

    `providers` maps engagement id -> provider users when the caller loaded them in bulk.
    """
    found: dict[int, Recipient] = {}
    for role in rule.recipients:
        for user, reason in _people(role, target, engagement, providers):
            if user is not None and user.is_active and user.id not in found:
                found[user.id] = Recipient(user, reason)
    return list(found.values())


def _people(role: str, target: Target, engagement: Engagement, providers=None):
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
        users = providers[engagement.id] if providers is not None else provider_users(engagement)
        return [(u, reason) for u in users]
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
    context = addressed(email_context(rule, target, engagement, anchor, now), person)
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
    link = f"{base}/engagements/{engagement.id}{fragment}"
    if target.kind == "change_request":
        waited = max(0, -days)
        what = f"Change request #{target.id} (“{target.obj.why[:60]}”)"
        when = f"has waited {waited} day{'s' if waited != 1 else ''} for a decision"
        link = f"{base}/change-requests/{target.id}"
    return {
        "subject": f"{what} {when} — {engagement.title}",
        "what": what,
        "when": when,
        "action": action,
        "link": link,
        "engagement": engagement,
        "schedule": schedule_in_words(rule),
        "due_date": anchor,
    }


def schedule_in_words(rule) -> str:
    """When the rule sends, and until when, as a sentence: "We send this reminder 1 day
    before the due date." The definition's rule names stay out of the email."""
    anchor = ANCHOR_WORDS.get(rule.anchor, rule.anchor.replace("_", " "))
    if rule.subject == "change_request":
        anchor = "the day it was raised"
    days = abs(rule.offset.days)
    span = f"{days} day{'s' if days != 1 else ''}"
    if rule.offset.days < 0:
        when = f"{span} before {anchor}"
    elif rule.offset.days > 0:
        when = f"{span} after {anchor}"
    else:
        when = f"on {anchor}"
    if rule.repeat_every is not None:
        every = rule.repeat_every.days
        until = UNTIL_WORDS.get(rule.subject, "until it is resolved")
        when += f", then every {every} day{'s' if every != 1 else ''} {until}"
    return f"We send this reminder {when}."


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
