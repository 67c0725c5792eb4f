"""Parsing [[reminders]] rules: when to remind whom about milestones, checklist items, periods."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from .definition import ReminderRule
from .errors import InvalidExpression
from .expressions import parse_duration, parse_offset
from .problems import Problems

if TYPE_CHECKING:
    from .definition import State

SUBJECTS = ("milestone", "checklist", "period", "change_request")
RECIPIENTS = ("provider", "owner", "item_owner", "stakeholders")
# What stops a repeating reminder, per subject (the first is the default).
UNTIL = {"milestone": ("final_status",), "checklist": ("complete",), "period": ("state_left",)}
# A change request's "due" date is the day it was raised; it stops once decided (issue 31).
UNTIL["change_request"] = ("decided",)
_KEYS = {"name", "subject", "before_due", "after_due", "at", "repeat_every", "until", "to"}
_KEYS |= {"states", "description"}


def parse_reminders(raw: object, states: dict[str, State], problems: Problems) -> list:
    """Every valid reminder rule; problems are added for the others."""
    if not isinstance(raw, list):
        problems.add("reminders", "must be a list of [[reminders]] tables")
        return []
    rules, seen = [], set()
    for i, table in enumerate(raw):
        name = table.get("name") if isinstance(table, dict) else None
        where = f"reminders[{i}] ({name})" if isinstance(name, str) else f"reminders[{i}]"
        if not isinstance(table, dict) or not isinstance(name, str) or not name:
            problems.add(where, "must be a table with a 'name'")
            continue
        if name in seen:
            problems.add(where, f"duplicate reminder name '{name}'")
        seen.add(name)
        rule = _parse_rule(table, where, states, problems)
        if rule is not None:
            rules.append(rule)
    return rules


def _parse_rule(table: dict, where: str, states, problems: Problems) -> ReminderRule | None:
    for key in table.keys() - _KEYS:
        problems.add(where, f"unknown key '{key}'")
    subject = table.get("subject")
    if subject not in SUBJECTS:
        problems.add(where, f"'subject' must be one of {', '.join(SUBJECTS)}")
        return None
    try:
        anchor, offset = _when(table, subject)
        repeat = parse_duration(table["repeat_every"]) if "repeat_every" in table else None
    except (InvalidExpression, ValueError) as exc:
        problems.add(where, str(exc))
        return None
    if repeat is not None and repeat <= timedelta(0):
        problems.add(where, "'repeat_every' must be at least 1d")
    until = table.get("until", UNTIL[subject][0])
    if until not in UNTIL[subject]:
        problems.add(where, f"'until' must be {UNTIL[subject][0]} for {subject} reminders")
    return ReminderRule(
        name=table["name"],
        subject=subject,
        anchor=anchor,
        offset=offset,
        repeat_every=repeat,
        until=until,
        recipients=_recipients(table.get("to"), subject, where, problems),
        states=_states(table.get("states"), states, where, problems),
        description=str(table.get("description", "")),
    )


def _when(table: dict, subject: str) -> tuple[str, timedelta]:
    """(anchor, signed offset) from before_due / after_due (items) or at (periods)."""
    if subject == "period":
        if "at" not in table or "before_due" in table or "after_due" in table:
            raise ValueError("period reminders need 'at' (e.g. \"period_end - 7d\") and no *_due")
        parsed = parse_offset(table["at"])
        return parsed.anchor, parsed.delta
    given = [k for k in ("before_due", "after_due") if k in table]
    if len(given) != 1 or "at" in table:
        raise ValueError(f"{subject} reminders need exactly one of 'before_due' or 'after_due'")
    delta = parse_duration(table[given[0]])
    return "due_date", -delta if given[0] == "before_due" else delta


def _recipients(raw: object, subject: str, where: str, problems: Problems) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(r, str) for r in raw):
        problems.add(where, f"'to' must be a non-empty list of: {', '.join(RECIPIENTS)}")
        return ()
    for recipient in raw:
        if recipient not in RECIPIENTS:
            problems.add(where, f"unknown recipient '{recipient}' (known: {', '.join(RECIPIENTS)})")
        elif recipient == "item_owner" and subject != "checklist":
            problems.add(where, "'item_owner' only applies to checklist reminders")
    return tuple(raw)


def _states(raw: object, states: dict, where: str, problems: Problems) -> tuple[str, ...]:
    if raw is None:  # every running state: a hold pauses reminders unless a rule names it
        return tuple(n for n, s in states.items() if not s.final and s.phase != "paused")
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        problems.add(where, "'states' must be a list of state names")
        return ()
    for name in raw:
        if name not in states:
            problems.add(where, f"unknown state '{name}'")
    return tuple(raw)


# --- catch-up: the most current reminder about an item wins (ADR 0207) -----------------


@dataclass(frozen=True)
class Occurrence:
    """One reminder rule falling due about one item at `due` (an aware instant)."""

    rule: ReminderRule
    due: datetime


def currency(occurrence: Occurrence) -> tuple:
    """How current an occurrence is: the later it falls due, the more current; at the same
    instant a later offset, then a repeating rule, then the name (so the order is total)."""
    rule = occurrence.rule
    return (occurrence.due, rule.offset, rule.repeat_every is not None, rule.name)


def same_item(a: ReminderRule, b: ReminderRule) -> bool:
    """Whether two rules speak about the same thing of one subject: the same subject kind
    counted from the same date (a milestone's due date; a period's trial end, period end
    or expected resume date)."""
    return a.subject == b.subject and a.anchor == b.anchor


def superseded(occurrence: Occurrence, due_together: list[Occurrence], anchor: date, today: date):
    """Why `occurrence` should not be sent, or None when it should.

    `due_together` are the other occurrences about the same subject that are due by now
    and not dropped (waiting to be sent, or sent in this catch-up). Two rules of every
    definition, whatever their names or states:

    - of the occurrences about one item due together, only the most current is sent
      (a "due today" and an "overdue" reached in one catch-up would both read "is
      overdue by N days"; the overdue one is the current one);
    - a one-off "before the date" reminder reached only after its date is stale: sent
      now it would read "is overdue", a look-alike of an overdue rule's email.
    """
    mine = currency(occurrence)
    later = [
        other
        for other in due_together
        if same_item(other.rule, occurrence.rule) and currency(other) > mine
    ]
    if later:
        current = max(later, key=currency)
        return (
            f"superseded by {current.rule.name} due {current.due:%Y-%m-%d %H:%M} UTC "
            "in the same catch-up"
        )
    rule = occurrence.rule
    if rule.repeat_every is None and rule.offset < timedelta(0) and today > anchor:
        return f"reached after {anchor:%Y-%m-%d}, the date it was to come before"
    return None
