"""Drift: how far approved change requests moved the schedule and the cost since the trial began.

`compute_drift` is the one function that adds it up, from plain facts; the drift API,
the engagement page, the health rule (services/judgments/health.py) and `largest_drift` all call
it. Slip is the sum of the approved requests' `schedule_delta_days`; cost added is the
sum of their `cost_delta_total`, and its share is the sum of their monthly deltas
against the monthly cost before them (docs/adr/0219).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Select, bindparam, select

from tracker.auth.permissions import get_visible_engagement, visible_clause
from tracker.extensions import db
from tracker.models import ChangeRequest, Engagement, User
from tracker.models.change_request import APPROVED


@dataclass(frozen=True)
class ApprovedFact:
    """What drift reads of one approved request."""

    id: int
    why: str
    decided_at: datetime
    schedule_delta_days: int
    cost_delta_monthly: Decimal
    cost_delta_total: Decimal


@dataclass(frozen=True)
class Drift:
    slip_days: int
    cost_added: Decimal
    cost_added_monthly: Decimal
    cost_percent: float | None  # None when there was no monthly cost to compare with
    since: date | None
    requests: tuple[ApprovedFact, ...] = field(default_factory=tuple)

    def over(self, slip_after_days: int, cost_percent: float) -> list[str]:
        """The thresholds this drift is past, in words (empty when within both)."""
        past = []
        if self.slip_days > slip_after_days:
            past.append(f"{self.slip_days} days of slip (over {slip_after_days})")
        if self.cost_percent is not None and self.cost_percent > cost_percent:
            past.append(
                f"{self.cost_percent:.0f}% added to the monthly cost (over {cost_percent:g}%)"
            )
        return past


def compute_drift(
    requests: Iterable[ApprovedFact], monthly_cost: Decimal | None, since: date | None
) -> Drift:
    """Drift from the approved requests decided on or after `since` (the trial's start;
    all of them when the engagement has no trial date)."""
    counted = tuple(
        sorted(
            (r for r in requests if since is None or r.decided_at.date() >= since),
            key=lambda r: (r.decided_at, r.id),
        )
    )
    monthly = sum((Decimal(r.cost_delta_monthly) for r in counted), Decimal("0"))
    baseline = Decimal(monthly_cost or 0) - monthly
    percent = float(monthly / baseline * 100) if baseline > 0 else None
    return Drift(
        slip_days=sum(r.schedule_delta_days for r in counted),
        cost_added=sum((Decimal(r.cost_delta_total) for r in counted), Decimal("0")),
        cost_added_monthly=monthly,
        cost_percent=percent,
        since=since,
        requests=counted,
    )


def approved_facts(engagement_ids: Sequence[int] | Select) -> dict[int, list[ApprovedFact]]:
    """Approved requests of many engagements (ids, or a SELECT of them) in one query."""
    found: dict[int, list[ApprovedFact]] = defaultdict(list)
    if isinstance(engagement_ids, Select):
        rows = db.session.execute(_approved(engagement_ids))
    elif not engagement_ids:
        return found
    else:  # the statement built once, the ids bound (its cache key is kept: issue 29)
        rows = db.session.execute(_APPROVED_OF_IDS, {"ids": list(engagement_ids)})
    for row in rows:
        found[row[0]].append(ApprovedFact(*row[1:]))
    return found


def _approved(engagement_ids) -> Select:
    return (
        select(ChangeRequest.engagement_id, ChangeRequest.id, ChangeRequest.why)
        .add_columns(ChangeRequest.decided_at, ChangeRequest.schedule_delta_days)
        .add_columns(ChangeRequest.cost_delta_monthly, ChangeRequest.cost_delta_total)
        .where(ChangeRequest.engagement_id.in_(engagement_ids), ChangeRequest.state == APPROVED)
        .order_by(ChangeRequest.decided_at, ChangeRequest.id)
    )


_APPROVED_OF_IDS = _approved(bindparam("ids", expanding=True))


def drift_of(engagement: Engagement, facts: Iterable[ApprovedFact]) -> Drift:
    return compute_drift(facts, engagement.monthly_cost, engagement.trial_start)


def engagement_drift(actor: User, engagement_id: int) -> Drift:
    """The drift of one engagement the actor may see (404 otherwise)."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    return drift_of(engagement, approved_facts([engagement.id])[engagement.id])


def largest_drift(actor: User, engagement_ids: Sequence[int] | Select, limit: int = 10):
    """[(engagement, drift)] with any drift, largest first (slip, then cost share), among
    the given ids the actor may see; two queries whatever the number of ids."""
    ids = engagement_ids if isinstance(engagement_ids, Select) else list(engagement_ids)
    facts = approved_facts(ids)
    if not facts:
        return []
    engagements = db.session.scalars(
        select(Engagement).where(Engagement.id.in_(list(facts)), visible_clause(actor))
    )
    ranked = [(e, drift_of(e, facts[e.id])) for e in engagements]
    ranked = [(e, d) for e, d in ranked if d.requests]
    ranked.sort(key=lambda pair: (-pair[1].slip_days, -(pair[1].cost_percent or 0), pair[0].id))
    return ranked[:limit]


def view(drift: Drift, actor: User) -> dict:
    """Drift as `actor` may read it: cost figures only for those who may see cost."""
    from tracker.auth.permissions import Action, can

    cost = can(actor, Action.VIEW_COST)
    return {
        "slip_days": drift.slip_days,
        "cost_added": drift.cost_added if cost else None,
        "cost_added_monthly": drift.cost_added_monthly if cost else None,
        "cost_percent": drift.cost_percent if cost else None,
        "since": drift.since,
        "requests": [
            {
                "id": r.id,
                "why": r.why,
                "decided_at": r.decided_at,
                "schedule_delta_days": r.schedule_delta_days,
                "cost_delta_monthly": r.cost_delta_monthly if cost else None,
                "cost_delta_total": r.cost_delta_total if cost else None,
            }
            for r in drift.requests
        ],
    }
