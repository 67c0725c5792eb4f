"""Planning reminder rows from the workflow's [[reminders]] rules (no commits here).

Rows are planned in the same transaction as the change that causes them: the derived-data
pipeline (tracker.services.derived) notes at each flush the new or changed milestones,
checklist items, change requests and engagement states/dates, and re-plans their
reminders once, right before the commit (docs/adr/0244), so no service has to remember
to; what a flush deletes has its pending rows cancelled at that flush.

Invariant: at most one *pending* row per (rule, subject); its UNIQUE key is
rule:subject_type:subject_id:due instant. A repeating rule plans its next occurrence
when the current one is processed (tracker.notifications.reminder_delivery), so downtime gives
one reminder per rule afterwards, not a burst.
Why: docs/adr/0030-reminder-rows-planned-at-change-time.md.
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import TextClause, and_, bindparam, inspect, or_, select, text, update

from tracker.core import clock
from tracker.extensions import db
from tracker.models import ChangeRequest, ChecklistItem, Engagement, Milestone, Reminder
from tracker.services.workflow.workflow_registry import definition_for
from workflows import ReminderRule, UnknownDefinition
from workflows.subject import DATE_KEYS

log = logging.getLogger(__name__)
UTC = ZoneInfo("UTC")
SUBJECT_MODELS = {
    "milestone": Milestone,
    "checklist": ChecklistItem,
    "change_request": ChangeRequest,
}
SUBJECT_KINDS = {model: kind for kind, model in SUBJECT_MODELS.items()}
ALL = "all"  # subjects_touched's kind for "every subject of the engagement"
_WATCHED = {
    Engagement: ("state", *DATE_KEYS, "closed_at"),
    Milestone: ("due_date", "status", "removed_at"),
    ChecklistItem: ("due_date", "status"),
    ChangeRequest: ("state",),  # planned when raised; a decision is seen when it is sent
}


@dataclass(frozen=True)
class Target:
    """One thing a rule can be about: a milestone, a checklist item or an engagement period."""

    kind: str  # milestone | checklist | period
    id: int
    obj: object


def rules_for(engagement: Engagement) -> tuple[ReminderRule, ...]:
    """The reminder rules of the definition version this engagement runs on."""
    try:
        return definition_for(engagement.workflow_name, engagement.workflow_version).reminders
    except (UnknownDefinition, KeyError):
        log.warning(
            "no workflow definition %s v%s", engagement.workflow_name, engagement.workflow_version
        )
        return ()


def send_instant(day: date) -> datetime:
    """When a reminder for `day` goes out: REMINDER_SEND_HOUR in the deployment's zone, as UTC."""
    zone = ZoneInfo(current_app.config.get("TIMEZONE") or "UTC")
    hour = int(current_app.config.get("REMINDER_SEND_HOUR", 8))
    return datetime.combine(day, time(hour), zone).astimezone(UTC)


def reminder_key(rule_name: str, kind: str, subject_id: int, due_at: datetime) -> str:
    return f"{rule_name}:{kind}:{subject_id}:{due_at.astimezone(UTC):%Y%m%dT%H%MZ}"


def anchor_date(rule: ReminderRule, target: Target, engagement: Engagement) -> date | None:
    """The date the rule counts from: the item's due date, or an engagement date."""
    if rule.subject == "period":
        return getattr(engagement, rule.anchor, None)
    return target.obj.due_date


def first_due(rule: ReminderRule, anchor: date) -> datetime:
    return send_instant(anchor + rule.offset)


def applies(rule: ReminderRule, target: Target, engagement: Engagement) -> bool:
    """Whether the rule still wants to nag about this target right now."""
    if rule.subject != target.kind or engagement.closed_at is not None:
        return False
    if engagement.state not in rule.states:
        return False
    if target.kind == "milestone":
        return not (target.obj.is_final or target.obj.is_removed)
    if target.kind == "checklist":
        return not target.obj.is_complete
    if target.kind == "change_request":
        return target.obj.is_open
    return True


def is_occurrence(rule: ReminderRule, anchor: date, due_at: datetime) -> bool:
    """Whether `due_at` is one of the rule's instants for this anchor date."""
    start = first_due(rule, anchor)
    if rule.repeat_every is None or due_at <= start:
        return due_at == start
    return (due_at - start) % rule.repeat_every == timedelta(0)


def next_due(rule: ReminderRule, anchor: date, now: datetime, taken: set[str], sid: int):
    """The instant to plan: the first one, or for repeating rules the latest one not yet done."""
    start = first_due(rule, anchor)
    if rule.repeat_every is None:
        # A one-off whose day has already gone by is left to the overdue rules.
        return start if start > now - timedelta(days=1) else None
    if start > now:
        return start
    steps = (now - start) // rule.repeat_every
    candidate = start + steps * rule.repeat_every
    if reminder_key(rule.name, rule.subject, sid, candidate) in taken:
        candidate += rule.repeat_every
    return candidate


def plan_reminders(engagement_id: int, *, now: datetime | None = None) -> int:
    """(Re-)plan every reminder of an engagement; returns how many rows were added. No commit."""
    engagement = db.session.get(Engagement, engagement_id)
    if engagement is None:
        return 0
    return _replan(engagement, _all_targets(engagement), now or clock.now())


def _all_targets(engagement: Engagement) -> list[Target]:
    targets = [Target("period", engagement.id, engagement)]
    for kind, model in SUBJECT_MODELS.items():
        rows = db.session.scalars(select(model).where(model.engagement_id == engagement.id))
        targets.extend(Target(kind, row.id, row) for row in rows)
    return targets


# Re-planning up to this many subjects reads only their rows, not the engagement's all.
SUBJECTS_READ_ALONE = 20


# What re-planning reads of the rows it may keep, cancel or revive; for one subject the
# whole statement is built once, so its compiled-SQL cache key is kept (issue 29).
_EXISTING = select(
    Reminder.id,
    Reminder.key,
    Reminder.rule,
    Reminder.subject_type,
    Reminder.subject_id,
    Reminder.due_at,
    Reminder.status,
)
_ONE_SUBJECTS_ROWS = _EXISTING.where(
    Reminder.engagement_id == bindparam("engagement_id"),
    Reminder.subject_type == bindparam("kind"),
    Reminder.subject_id == bindparam("subject"),
)


def _replan(
    engagement: Engagement | None, targets: list[Target], now: datetime, *, some: bool = False
) -> int:
    """Keep each rule's valid pending row, add the missing ones, cancel the rest.

    `some`: the targets are a few of the engagement's subjects (a milestone just updated),
    so only their rows are read; every decision below is per (rule, subject) and a key
    names its subject, so the other rows could not change it."""
    if engagement is None or not targets:
        return 0
    rules = rules_for(engagement)
    wanted = {(t.kind, t.id) for t in targets}
    if some and len(wanted) == 1:  # one subject (a milestone updated): the statement built once
        ((kind, subject),) = wanted
        params = {"engagement_id": engagement.id, "kind": kind, "subject": subject}
        existing = db.session.execute(_ONE_SUBJECTS_ROWS, params).all()
    else:
        query = _EXISTING.where(Reminder.engagement_id == engagement.id)
        if some and len(wanted) <= SUBJECTS_READ_ALONE:
            query = query.where(
                or_(
                    *(
                        and_(Reminder.subject_type == kind, Reminder.subject_id == subject)
                        for kind, subject in sorted(wanted)
                    )
                )
            )
        existing = db.session.execute(query).all()
    done = {r.key for r in existing if r.status in ("sent", "skipped")}
    # Pending rows grouped by (rule, subject): each rule x target looks up only its own
    # rows, so re-planning is linear in the rows, not rows x targets (ADR 0165).
    pending: dict[tuple[str, str, int], list] = defaultdict(list)
    for r in existing:
        if r.status == "pending" and (r.subject_type, r.subject_id) in wanted:
            pending[(r.rule, r.subject_type, r.subject_id)].append(r)
    keep: set[int] = set()
    rows = []
    for target in targets:
        for rule in rules:
            row = _plan_one(rule, target, engagement, pending, done, now, keep)
            if row is not None:
                rows.append(row)
    cancel = [r.id for group in pending.values() for r in group if r.id not in keep]
    _set_status(cancel, "cancelled", now)
    _insert_or_revive(rows, {r.key: r.id for r in existing if r.status == "cancelled"})
    return len(rows)


def _plan_one(rule, target, engagement, pending, done, now, keep) -> dict | None:
    """The row to add for one rule and target, or None (kept, not applicable, or past)."""
    if not applies(rule, target, engagement):
        return None
    anchor = anchor_date(rule, target, engagement)
    if anchor is None:
        return None
    current = [
        r.id
        for r in pending.get((rule.name, target.kind, target.id), ())
        if is_occurrence(rule, anchor, r.due_at)
    ]
    if current:
        keep.update(current)
        return None
    due = next_due(rule, anchor, now, done, target.id)
    key = reminder_key(rule.name, target.kind, target.id, due) if due else None
    if due is None or key in done:
        return None
    return _row(rule.name, engagement.id, target.kind, target.id, due, now)


def _row(rule_name: str, engagement_id: int, kind: str, sid: int, due: datetime, now) -> dict:
    return {
        "key": reminder_key(rule_name, kind, sid, due),
        "rule": rule_name,
        "engagement_id": engagement_id,
        "subject_type": kind,
        "subject_id": sid,
        "due_at": due,
        "status": "pending",
        "created_at": now,
    }


# Bound parameters per statement: PostgreSQL's protocol allows 65,535 and SQLite's
# default SQLITE_MAX_VARIABLE_NUMBER is 32,766; stay under both (ADR 0133).
PARAMETER_LIMIT = 32_000


def chunks(items: list, per_item: int = 1) -> Iterator[list]:
    """`items` in slices whose bound parameters (per_item each) fit PARAMETER_LIMIT."""
    size = max(PARAMETER_LIMIT // max(per_item, 1), 1)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _set_status(ids: list[int], status: str, now: datetime) -> None:
    for part in chunks(ids):
        db.session.execute(
            update(Reminder)
            .where(Reminder.id.in_(part), Reminder.status == "pending")
            .values(status=status, processed_at=now),
            execution_options={"synchronize_session": False},
        )


def _insert_or_revive(rows: list[dict], cancelled: dict[str, int]) -> None:
    """INSERT ... ON CONFLICT (key) DO NOTHING; a key cancelled earlier becomes pending again.

    The UPDATE is chunked under the driver's parameter limit; the INSERT is one statement
    executed for many rows (the driver's executemany, which SQLAlchemy pages under that
    limit), compiled once however many rows there are. So one call may plan any number.
    """
    revive = [cancelled[row["key"]] for row in rows if row["key"] in cancelled]
    fresh = [row for row in rows if row["key"] not in cancelled]
    for part in chunks(revive):
        db.session.execute(
            update(Reminder)
            .where(Reminder.id.in_(part))
            .values(status="pending", processed_at=None, lease_until=None, claimed_by=None),
            execution_options={"synchronize_session": False},
        )
    if fresh:
        db.session.execute(_insert_new_keys(), fresh)


# The columns of a planned row (`_row`), in the INSERT's order.
_ROW_COLUMNS = (
    "key", "rule", "engagement_id", "subject_type", "subject_id", "due_at", "status", "created_at",
)  # fmt: skip


@functools.cache
def _insert_new_keys() -> TextClause:
    """INSERT … ON CONFLICT ("key") DO NOTHING for planned rows, as SQL text built once.

    Not SQLAlchemy's `postgresql.insert` / `sqlite.insert`: their statements are never
    cached (the dialects' Insert classes opt out of the compiled-SQL cache), so every
    milestone update that planned a reminder compiled the INSERT again (issue 29). Both
    databases spell this clause the same; each parameter keeps its column's type, so
    instants are written as the mapped UTCDateTime writes them."""
    table = Reminder.__table__
    columns = [table.c[name] for name in _ROW_COLUMNS]
    names = ", ".join(f'"{column.name}"' for column in columns)
    values = ", ".join(f":{column.name}" for column in columns)
    return text(
        f'INSERT INTO {table.name} ({names}) VALUES ({values}) ON CONFLICT ("key") DO NOTHING'
    ).bindparams(*(bindparam(column.name, type_=column.type) for column in columns))


def insert_next(rows: list[tuple[str, int, str, int, datetime]], now: datetime) -> None:
    """Plan repeating rules' next occurrences in bulk (after a batch was processed).

    Each row is (rule name, engagement id, subject type, subject id, due instant); the
    INSERT ... ON CONFLICT DO NOTHING statements are chunked like any other planning.
    """
    _insert_or_revive([_row(*row, now) for row in rows], {})


# -- the session hook: plan in the same transaction as whatever changed the data ------------


def _changed(obj) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in _WATCHED[type(obj)])


def subjects_touched(session) -> set[tuple[int, str, int]]:
    """(engagement id, subject kind, subject id) for what a flush changed that reminders
    watch: new or changed milestones, checklist items and change requests; an engagement
    whose state or dates moved is (id, "all", 0), every subject of it. Called by
    derived.py's flush listener, while the flush's changes are still visible."""
    touched: set[tuple[int, str, int]] = set()
    for obj in list(session.new) + list(session.dirty):
        kind = type(obj)
        if kind not in _WATCHED or (obj not in session.new and not _changed(obj)):
            continue
        if kind is Engagement:
            touched.add((obj.id, ALL, 0))
        else:
            touched.add((obj.engagement_id, SUBJECT_KINDS[kind], obj.id))
    return touched


def subjects_inserted(model, rows: list[dict]) -> set[tuple[int, str, int]]:
    """A set-based INSERT plans nothing (the loaders that use one plan set-based themselves)."""
    return set()


def _cancel_deleted(session, now: datetime) -> None:
    """Cancel the pending rows of deleted milestones and items: one UPDATE per kind."""
    gone: dict[str, list[int]] = defaultdict(list)
    for obj in session.deleted:
        if type(obj) in (Milestone, ChecklistItem):
            gone["milestone" if type(obj) is Milestone else "checklist"].append(obj.id)
    for kind, ids in gone.items():
        for part in chunks(ids):
            session.execute(
                update(Reminder)
                .where(
                    Reminder.subject_type == kind,
                    Reminder.subject_id.in_(part),
                    Reminder.status == "pending",
                )
                .values(status="cancelled", processed_at=now),
                execution_options={"synchronize_session": False},
            )


def cancel_deleted_after_flush(session, flush_context) -> None:
    """Cancel the pending rows of the milestones and checklist items a flush deleted.

    An `after_flush` listener, installed by tracker.services.derived: only the flush still
    knows what it deleted."""
    if session.deleted and not session.info.get("skip_reminder_planning"):
        _cancel_deleted(session, clock.now())


def replan_touched(keys, *, now: datetime | None = None) -> None:
    """The derived-data pipeline's commit step: re-plan, once per unit of work, the
    reminders of every subject its flushes changed (`subjects_touched`), from the rows as
    they are at the commit. A subject deleted since it changed is left alone (its rows
    were cancelled when it was deleted). `now` is unused: reminders are planned from the
    clock's now, as a service's own change is."""
    session = db.session()
    if session.info.get("skip_reminder_planning"):
        return
    wanted: dict[int, set[tuple[str, int]]] = defaultdict(set)
    for engagement_id, kind, subject_id in keys:
        wanted[engagement_id].add((kind, subject_id))
    planned_at = clock.now()
    for engagement_id, subjects in wanted.items():
        engagement = session.get(Engagement, engagement_id)
        if engagement is None:
            continue
        if (ALL, 0) in subjects:
            _replan(engagement, _all_targets(engagement), planned_at)
            continue
        targets = []
        for kind, subject_id in sorted(subjects):
            row = session.get(SUBJECT_MODELS[kind], subject_id)
            if row is not None and row.engagement_id == engagement_id:
                targets.append(Target(kind, subject_id, row))
        _replan(engagement, targets, planned_at, some=True)
