"""What an engagement has cost so far, and what the running period is expected to cost.

One rule for both: the monthly cost accrues day by day from the trial's start until
closing (a month is 30.4375 days). Holds do not stop it: the provider's people stay
booked while the client pauses, so a hold shows as days spent without progress, and
the expected spend of a period is the same rate over the period's days (docs/adr/0171).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from tracker.models import Engagement
from tracker.services.workflow import lifecycle

DAYS_PER_MONTH = Decimal("30.4375")


def cost_to_date(engagement: Engagement, today: date) -> Decimal:
    """Monthly cost times the months since the trial started (paid time), up to closing."""
    if engagement.trial_start is None:
        return Decimal("0")
    return _accrued(engagement, engagement.trial_start, _cost_end(engagement, today))


def _cost_end(engagement: Engagement, today: date) -> date:
    return engagement.closed_at.date() if engagement.closed_at else today


def _accrued(engagement: Engagement, start: date, end: date) -> Decimal:
    days = max(0, (end - start).days)
    return (engagement.monthly_cost or Decimal("0")) * days / DAYS_PER_MONTH


@dataclass(frozen=True)
class CostBurn:
    """The running period's spend: what it is expected to cost, and what it has so far.

    Amounts are within the period, in whole currency units; `before` is what was spent
    before it began, so `before + spent == cost_to_date` exactly as the page prints them.
    """

    label: str  # the period's label ("Trial", "Extension")
    start: date
    end: date
    today: date
    days_total: int
    days_elapsed: int  # whole days costed so far; may pass days_total once overrun
    day: int  # "day X of days_total", as the header says it (lifecycle.Period.day)
    before: Decimal
    expected: Decimal  # the whole period at the monthly rate
    expected_to_date: Decimal  # the rate over the days elapsed, capped at `expected`
    spent: Decimal
    cost_to_date: Decimal

    @property
    def overrun(self) -> Decimal:
        return max(Decimal("0"), self.spent - self.expected)


def cost_burn(engagement: Engagement, today: date) -> CostBurn | None:
    """The period the lifecycle says is running, costed; None outside a dated period
    (setup, review, on hold, closed) or before the trial has started."""
    period = lifecycle.current_period(engagement)
    if period is None or engagement.trial_start is None or engagement.closed_at is not None:
        return None
    total = period.days
    elapsed = max(0, (today - period.start).days)
    rate = (engagement.monthly_cost or Decimal("0")) / DAYS_PER_MONTH
    spent = _whole(_accrued(engagement, period.start, today))
    so_far = _whole(cost_to_date(engagement, today))
    return CostBurn(
        label=period.label,
        start=period.start,
        end=period.end,
        today=today,
        days_total=total,
        days_elapsed=elapsed,
        day=period.day(today),
        before=so_far - spent,  # whole units, so the page's figures add up exactly
        expected=_whole(rate * total),
        expected_to_date=_whole(rate * min(elapsed, total)),
        spent=spent,
        cost_to_date=so_far,
    )


def _whole(amount: Decimal) -> Decimal:
    """Whole currency units, rounded as the money filter rounds (half to even)."""
    return amount.quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
