"""Hire or keep augmenting: the "Evaluate hiring" item and the comparison it asks about.

After `[hiring] evaluate_after_months` (default 12) on one engagement, counted from the
trial's start as cost accrues (`services.staffing.cost`: 30.4375 days a month, holds included),
the scheduler's `hiring` step opens one "Evaluate hiring" item for the owner. Once: the
audit entry `hiring_evaluation_opened` is the record that it was opened, so an item
ticked, edited or removed is not opened again. The comparison is cost to date against
what the same people would have cost in-house: per external member, the monthly
equivalent configured for their role (`HIRING_IN_HOUSE_MONTHLY`, JSON, README) times
their allocation and their months on the engagement. Providers see neither: the item is
client-only (models.checklist.CLIENT_ONLY_KEYS) and the comparison is for who may see cost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import exists, false, literal, or_, select

from tracker.auth.permissions import Action, can, get_visible_engagement
from tracker.core import clock
from tracker.errors import NotFound
from tracker.extensions import db
from tracker.models import (
    HIRING_EVALUATION_KEY,
    AuditEvent,
    ChecklistItem,
    ChecklistKind,
    ChecklistStatus,
    Engagement,
    TeamMember,
    User,
)
from tracker.services.core import audit
from tracker.services.portfolio.sql_days import day_number
from tracker.services.staffing.cost import DAYS_PER_MONTH, cost_to_date
from tracker.services.workflow.workflow_registry import catalog

OPENED = "hiring_evaluation_opened"
TITLE = "Evaluate hiring: keep augmenting or hire in-house?"
DUE_IN_DAYS = 14
BATCH = 200


def months_for(definition) -> int:
    return definition.hiring.evaluate_after_months


def _due_clause(today_days):
    """Live engagements past their definition's months with no evaluation opened yet;
    `today_days` is today as `sql_days.day_number` (a literal, or the tick's parameter)."""
    opened = exists().where(AuditEvent.engagement_id == Engagement.id, AuditEvent.kind == OPENED)
    started = day_number(Engagement.trial_start)
    per_definition = [
        (Engagement.workflow_name == d.name)
        & (Engagement.workflow_version == d.version)
        & (started <= today_days - int(months_for(d) * DAYS_PER_MONTH))
        for d in catalog()
    ]
    return (
        Engagement.closed_at.is_(None),
        Engagement.trial_start.is_not(None),
        or_(*per_definition) if per_definition else false(),
        ~opened,
    )


def pending(now, midnight):
    """SQL truth value: some engagement is due an evaluation (the tick's EXISTS, built once
    with the tick's instants as parameters)."""
    return exists().where(*_due_clause(day_number(midnight)))


def open_due_evaluations(now: datetime | None = None, *, batch: int = BATCH) -> int:
    """The scheduler step: open the item for each engagement due one; commits; how many."""
    today = (now or clock.now()).date()
    due = db.session.scalars(
        select(Engagement)
        .where(*_due_clause(day_number(literal(today))))
        .order_by(Engagement.id)
        .limit(batch)
    ).all()
    for engagement in due:
        _open(engagement, today)
    if due:
        db.session.commit()
    return len(due)


def _open(engagement: Engagement, today: date) -> ChecklistItem:
    months = round((today - engagement.trial_start).days / DAYS_PER_MONTH)
    item = ChecklistItem(
        engagement_id=engagement.id,
        kind=ChecklistKind.PLACEMENT,
        key=HIRING_EVALUATION_KEY,
        title=TITLE,
        owner_id=engagement.owner_id,
        due_date=today + timedelta(days=DUE_IN_DAYS),
        note=(
            f"{months} months on this engagement: compare its cost to date with an in-house "
            "equivalent (the hiring evaluation page) and decide."
        ),
        position=1000,
    )
    db.session.add(item)
    db.session.flush()
    data = {"item_id": item.id, "title": TITLE, "months": months}
    audit.record(engagement, None, "hiring_evaluation_opened", data=data)  # OPENED
    return item


OPEN_EVALUATIONS_SHOWN = 10


def open_evaluations(ids, limit: int = OPEN_EVALUATIONS_SHOWN) -> list[tuple[int, str, date]]:
    """(engagement id, title, due date) of the selected engagements whose "Evaluate hiring"
    item is still open, soonest due first (one statement). For the portfolio, shown only to
    who may see cost, like the evaluation page each row links to."""
    rows = db.session.execute(
        select(Engagement.id, Engagement.title, ChecklistItem.due_date)
        .join(ChecklistItem, ChecklistItem.engagement_id == Engagement.id)
        .where(
            ChecklistItem.key == HIRING_EVALUATION_KEY,
            ChecklistItem.status == ChecklistStatus.OPEN,
            Engagement.id.in_(ids),
        )
        .order_by(ChecklistItem.due_date, Engagement.id)
        .limit(limit)
    )
    return [tuple(row) for row in rows]


@dataclass(frozen=True)
class MemberCost:
    """One external member: months on the engagement and their in-house equivalent."""

    name: str
    role: str
    allocation: int
    months: Decimal
    monthly_equivalent: Decimal | None  # None: no equivalent configured for the role

    @property
    def in_house(self) -> Decimal | None:
        if self.monthly_equivalent is None:
            return None
        share = self.monthly_equivalent * self.allocation / 100 * self.months
        return share.quantize(Decimal(1))


@dataclass
class HiringComparison:
    """Cost to date against what the same people would have cost in-house."""

    engagement: Engagement
    today: date
    months: Decimal
    cost_to_date: Decimal
    members: list[MemberCost] = field(default_factory=list)
    problem: str | None = None  # the configuration could not be read

    @property
    def in_house(self) -> Decimal:
        return sum((m.in_house for m in self.members if m.in_house is not None), Decimal(0))

    @property
    def unpriced_roles(self) -> list[str]:
        return sorted({m.role for m in self.members if m.monthly_equivalent is None})

    @property
    def difference(self) -> Decimal:
        """Augmenting cost this much more than in-house (negative: less)."""
        return self.cost_to_date - self.in_house


def in_house_equivalents() -> tuple[dict[str, Decimal], str | None]:
    """role -> monthly in-house cost from HIRING_IN_HOUSE_MONTHLY (a JSON object or dict);
    with the problem in words when it cannot be read (nothing is priced then)."""
    raw = current_app.config.get("HIRING_IN_HOUSE_MONTHLY") or {}
    try:
        table = json.loads(raw) if isinstance(raw, str) else dict(raw)
        return {str(k): Decimal(str(v)) for k, v in table.items() if float(v) >= 0}, None
    except (ValueError, TypeError, ArithmeticError):
        return {}, "HIRING_IN_HOUSE_MONTHLY is not a JSON object of role to monthly cost"


def hiring_comparison(actor: User, engagement_id: int, today: date) -> HiringComparison:
    """The comparison for who may see cost; anyone else gets NotFound, as if it did not
    exist (a provider must not learn that the client weighs hiring)."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    if not can(actor, Action.VIEW_COST, engagement):
        raise NotFound("Engagement not found.")
    equivalents, problem = in_house_equivalents()
    end = engagement.closed_at.date() if engagement.closed_at else today
    members = db.session.scalars(
        select(TeamMember)
        .where(TeamMember.engagement_id == engagement.id, TeamMember.is_external.is_(True))
        .order_by(TeamMember.id)
    ).all()
    start = engagement.trial_start or today
    return HiringComparison(
        engagement,
        today,
        _months(start, end),
        cost_to_date(engagement, today).quantize(Decimal(1)),
        [_member_cost(m, start, end, equivalents) for m in members],
        problem,
    )


def _months(start: date, end: date) -> Decimal:
    return (Decimal(max(0, (end - start).days)) / DAYS_PER_MONTH).quantize(Decimal("0.1"))


def _member_cost(member: TeamMember, start: date, end: date, equivalents) -> MemberCost:
    joined = max(member.start_date or start, start)
    left = min(member.end_date or end, end)
    return MemberCost(
        member.name,
        member.role,
        member.allocation,
        _months(joined, left),
        equivalents.get(member.role),
    )
