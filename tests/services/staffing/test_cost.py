"""Cost to date and the running period's expected spend: one rule (services/staffing/cost.py)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from tests.support.scheduler import T0, frozen, trial_engagement
from tracker.extensions import db
from tracker.services.staffing.cost import DAYS_PER_MONTH, cost_burn, cost_to_date
from tracker.services.workflow import lifecycle, transitions

TODAY = T0.date()


def _rate(engagement) -> Decimal:
    return engagement.monthly_cost / DAYS_PER_MONTH


def _whole(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal(1))


def test_a_trial_is_costed_over_its_days_and_spent_so_far_equals_cost_to_date(app, ctx):
    engagement, _, _ = trial_engagement(TODAY, trial_day=40)
    burn = cost_burn(engagement, TODAY)
    assert (burn.label, burn.days_total, burn.days_elapsed) == ("Trial", 90, 40)
    # today is the trial's 41st day, as its header says (lifecycle.Period.day)
    assert burn.day == 41 == lifecycle.period_progress(engagement, TODAY)[1]
    assert burn.expected == _whole(_rate(engagement) * 90)
    assert burn.spent == burn.expected_to_date == _whole(_rate(engagement) * 40)
    assert burn.before == 0 and burn.spent == burn.cost_to_date
    assert burn.cost_to_date == _whole(cost_to_date(engagement, TODAY))
    assert burn.overrun == 0


def test_outside_a_dated_period_there_is_no_burn_but_cost_to_date_still_counts(app, ctx):
    engagement, _, _ = trial_engagement(TODAY, trial_day=40)
    engagement.state = "milestone_review"  # a review: not a period
    db.session.commit()
    assert cost_burn(engagement, TODAY) is None
    assert cost_to_date(engagement, TODAY) == _rate(engagement) * 40


def test_before_the_trial_nothing_is_spent_or_expected(app, ctx):
    engagement, _, _ = trial_engagement(TODAY, trial_day=40)
    engagement.state, engagement.trial_start = "discovery", None
    db.session.commit()
    assert cost_burn(engagement, TODAY) is None
    assert cost_to_date(engagement, TODAY) == 0


def test_zero_monthly_cost_gives_a_burn_of_zeros(app, ctx):
    engagement, _, _ = trial_engagement(TODAY, trial_day=10)
    engagement.monthly_cost = Decimal("0")
    db.session.commit()
    burn = cost_burn(engagement, TODAY)
    assert (burn.expected, burn.spent, burn.cost_to_date) == (0, 0, 0)


def test_a_period_past_its_end_shows_the_overrun(app, ctx):
    engagement, _, _ = trial_engagement(TODAY, trial_day=100)
    burn = cost_burn(engagement, TODAY)
    assert burn.days_elapsed == 100 and burn.expected_to_date == burn.expected
    assert abs(burn.overrun - _rate(engagement) * 10) <= 1


def test_an_extension_counts_what_came_before_it_separately(app, ctx):
    engagement, _, _ = trial_engagement(TODAY, trial_day=130)
    engagement.state, engagement.current_period = "extension", 1
    engagement.period_start = TODAY - timedelta(days=30)
    engagement.period_end = engagement.period_start + timedelta(days=60)
    db.session.commit()
    burn = cost_burn(engagement, TODAY)
    assert (burn.start, burn.days_total, burn.days_elapsed) == (engagement.period_start, 60, 30)
    assert abs(burn.before - _rate(engagement) * 100) <= 1
    assert burn.before + burn.spent == burn.cost_to_date  # exactly: the page's figures add up


def test_a_hold_stops_the_picture_not_the_cost_and_resuming_keeps_the_rule(app, ctx):
    frozen(app, T0)
    engagement, owner, _ = trial_engagement(TODAY, trial_day=20)
    transitions.fire(owner, engagement.id, "put_on_hold", {"reason": "Budget freeze"})
    later = TODAY + timedelta(days=10)
    assert cost_burn(engagement, later) is None  # on hold: no period runs
    assert cost_to_date(engagement, later) == _rate(engagement) * 30  # the days on hold count
    frozen(app, T0 + timedelta(days=10))
    transitions.fire(owner, engagement.id, "resume", {})
    burn = cost_burn(engagement, later)
    assert burn.days_total == 100  # the trial's end moved on by the 10 days on hold
    assert burn.spent == burn.cost_to_date == _whole(_rate(engagement) * 30)


def test_a_closed_engagement_has_no_burn(app, ctx):
    engagement, _, _ = trial_engagement(TODAY, trial_day=20)
    engagement.closed_at = T0 - timedelta(days=5)
    db.session.commit()
    assert cost_burn(engagement, TODAY) is None
    assert cost_to_date(engagement, TODAY) == _rate(engagement) * 15
