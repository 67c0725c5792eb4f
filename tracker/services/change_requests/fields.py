"""The fields a change request may change: (target, field) → change kind, read, parse, apply.

Values are kept in their JSON form (dates as ISO text, money as text with two decimals),
so the `from` captured when a request is raised compares exactly with the value read
when it is approved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from tracker.models import Engagement, Milestone, MilestoneTarget, TeamMember
from tracker.services.change_requests import rules

CRITERIA_MAX = 20_000
TITLE_MAX = 200
MONEY_MAX = Decimal("9999999999.99")


class BadValue(ValueError):
    """The `to` of a change does not fit its field; the message says why."""


@dataclass(frozen=True)
class FieldSpec:
    """One changeable field: its change kind, the model its `id` names, the attribute."""

    target: str
    field: str
    kind: str
    model: type | None  # None: the engagement itself (no id)
    attribute: str | None  # None: computed (the period end) or a whole row (add/remove)


SPECS = {
    (spec.target, spec.field): spec
    for spec in (
        FieldSpec("milestone", "due_date", "milestone_due_date", Milestone, "due_date"),
        FieldSpec(
            "milestone", "success_criteria", "milestone_criteria", Milestone, "success_criteria"
        ),
        FieldSpec("milestone", "add", "milestone_added", None, None),
        FieldSpec("milestone", "remove", "milestone_removed", Milestone, None),
        FieldSpec("milestone_target", "target", "milestone_targets", MilestoneTarget, "target"),
        FieldSpec("engagement", "monthly_cost", "monthly_cost", None, "monthly_cost"),
        FieldSpec("engagement", "period_end", "period_end", None, None),
        FieldSpec("team_member", "allocation", "member_allocation", TeamMember, "allocation"),
        FieldSpec("team_member", "end_date", "member_end_date", TeamMember, "end_date"),
    )
}
TARGETS = tuple(dict.fromkeys(t for t, _ in SPECS))


def fields_of(target: str) -> tuple[str, ...]:
    return tuple(f for t, f in SPECS if t == target)


def belongs_to(row, engagement: Engagement) -> bool:
    """Whether a row (milestone, target, member) is part of this engagement and live."""
    if isinstance(row, MilestoneTarget):
        milestone = row.milestone
        return milestone.engagement_id == engagement.id and not milestone.is_removed
    if isinstance(row, Milestone):
        return row.engagement_id == engagement.id and not row.is_removed
    return row.engagement_id == engagement.id


def _date(raw) -> date:
    if not isinstance(raw, str):
        raise BadValue("Give a date as YYYY-MM-DD.")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadValue("Give a date as YYYY-MM-DD.") from None


def _money(raw) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise BadValue("Give an amount (a number).")
    try:
        value = Decimal(str(raw)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise BadValue("Give an amount (a number).") from None
    if not value.is_finite() or value < 0 or value > MONEY_MAX:
        raise BadValue(f"Give an amount from 0 to {MONEY_MAX}.")
    return value


def _text(raw, limit: int, *, required: bool) -> str:
    if not isinstance(raw, str) or "\x00" in raw or len(raw) > limit:
        raise BadValue(f"Give text of at most {limit} characters.")
    if required and not raw.strip():
        raise BadValue("Give a title.")
    return raw


def _new_milestone(raw) -> dict:
    if not isinstance(raw, dict) or not set(raw) <= {"title", "due_date", "success_criteria"}:
        raise BadValue("Give {title, due_date, success_criteria} for the new milestone.")
    return {
        "title": _text(raw.get("title"), TITLE_MAX, required=True).strip(),
        "due_date": _date(raw.get("due_date")).isoformat(),
        "success_criteria": _text(raw.get("success_criteria", ""), CRITERIA_MAX, required=False),
    }


def _date_or_none(raw):
    return None if raw is None else _date(raw).isoformat()


def _allocation(raw) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= 100:
        raise BadValue("Give a whole percentage from 1 to 100.")
    return raw


def _number(raw) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise BadValue("Give a number.")
    return float(raw)


def _nothing(raw) -> None:
    if raw is not None:
        raise BadValue("Removing a milestone takes no value; leave 'to' out or null.")
    return None


_PARSERS = {
    "due_date": lambda raw: _date(raw).isoformat(),
    "period_end": lambda raw: _date(raw).isoformat(),
    "end_date": _date_or_none,
    "success_criteria": lambda raw: _text(raw, CRITERIA_MAX, required=False),
    "monthly_cost": lambda raw: str(_money(raw)),
    "allocation": _allocation,
    "target": _number,
    "add": _new_milestone,
    "remove": _nothing,
}


def parse_to(spec: FieldSpec, raw):
    """The JSON form of a requested new value, or BadValue."""
    return _PARSERS[spec.field](raw)


def _json(value):
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal("0.01")))
    return value


def current(spec: FieldSpec, engagement: Engagement, row):
    """The JSON form of the field's value now (None for a milestone yet to be added)."""
    if spec.field == "add":
        return None
    if spec.field == "remove":
        return {"title": row.title, "due_date": row.due_date.isoformat(), "removed": row.is_removed}
    if spec.field == "period_end":
        field = rules.period_end_field(engagement)
        return _json(getattr(engagement, field)) if field else None
    if spec.field == "target":
        return float(row.target)
    holder = engagement if spec.model is None else row
    return _json(getattr(holder, spec.attribute))


def python_value(spec: FieldSpec, value):
    """The JSON form back to what the column holds."""
    if value is None:
        return None
    if spec.field in ("due_date", "end_date", "period_end"):
        return date.fromisoformat(value)
    if spec.field == "monthly_cost":
        return Decimal(value)
    return value
