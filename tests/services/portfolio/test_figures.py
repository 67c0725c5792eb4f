"""The portfolio's figures: health from the history rows, spend by the cost rule cut at
month ends, trials per quarter with what came of them; filters and visibility applied."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete

from tests.factories import make_engagement, make_user
from tracker.errors import NotFound
from tracker.extensions import db
from tracker.models import HealthChange
from tracker.services.judgments.health_history import change_row, record_changes
from tracker.services.portfolio.figures import (
    build_portfolio,
    month_starts,
    quarter_of,
    sample_days,
)
from tracker.services.read_model.engagement_list import ListQuery
from tracker.services.staffing.cost import cost_to_date

TODAY = date.today()


def _at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC).replace(hour=hour)


def _history(engagement, *changes):
    """Replace the engagement's history with (days ago, health) rows, through the one writer
    of history rows (which stores each row's end)."""
    db.session.execute(delete(HealthChange).where(HealthChange.engagement_id == engagement.id))
    rows = [
        change_row(engagement.id, health, health, _at(TODAY - timedelta(days=days_ago)))
        for days_ago, health in changes
    ]
    closed = {engagement.id: engagement.closed_at} if engagement.closed_at else {}
    record_changes(db.session, rows, closed, fresh={engagement.id})
    db.session.commit()


def _engagement(owner, provider="Northwind ML", *, started_days_ago=100, cost=30000, **fields):
    engagement = make_engagement(owner, provider=provider, monthly_cost=cost)
    engagement.trial_start = TODAY - timedelta(days=started_days_ago)
    engagement.trial_end = engagement.trial_start + timedelta(days=90)
    engagement.state = "trial"
    for name, value in fields.items():
        setattr(engagement, name, value)
    db.session.commit()
    return engagement


def test_health_counts_each_engagement_once_per_point_until_it_closes(ctx):
    manager = make_user("manager")
    a = _engagement(manager)
    b = _engagement(manager, closed_at=_at(TODAY - timedelta(days=30)), state="closed")
    _history(a, (150, "green"), (40, "amber"), (10, "red"))
    _history(b, (100, "green"))
    points = build_portfolio(manager, ListQuery(), TODAY).health
    assert [p.day for p in points] == sample_days(TODAY)
    by_day = {p.day: p.counts for p in points}
    assert by_day[TODAY] == {"green": 0, "amber": 0, "red": 1}
    assert by_day[TODAY - timedelta(days=14)] == {"green": 0, "amber": 1, "red": 0}
    assert by_day[TODAY - timedelta(days=42)] == {"green": 2, "amber": 0, "red": 0}
    assert by_day[TODAY - timedelta(days=126)] == {"green": 1, "amber": 0, "red": 0}
    assert by_day[TODAY - timedelta(days=182)].get("green") == 0


def test_today_s_point_agrees_with_the_stored_effective_health(ctx):
    manager = make_user("manager")
    engagements = [_engagement(manager) for _ in range(3)]
    live = {}
    for e in engagements:
        live[e.effective_health] = live.get(e.effective_health, 0) + 1
    today = build_portfolio(manager, ListQuery(), TODAY).health[-1].counts
    assert {h: n for h, n in today.items() if n} == live


def test_filters_select_what_the_figures_count(ctx):
    manager, other_owner = make_user("manager"), make_user("manager")
    ours = _engagement(manager)
    _engagement(other_owner, provider="Quanta Labs")
    by_provider = build_portfolio(manager, ListQuery(provider_id=ours.provider_id), TODAY)
    by_owner = build_portfolio(manager, ListQuery(owner_id=other_owner.id), TODAY)
    assert by_provider.health[-1].total == 1 and by_owner.health[-1].total == 1
    everyone = build_portfolio(manager, ListQuery(), TODAY)
    assert everyone.health[-1].total == 2


def test_spend_per_month_adds_up_to_the_cost_rule(ctx):
    manager = make_user("manager")
    start = month_starts(TODAY)[0] + timedelta(days=3)  # inside the six months shown
    a = _engagement(manager, started_days_ago=(TODAY - start).days, cost=30437.5)
    b = _engagement(
        manager, started_days_ago=(TODAY - start).days - 10, cost=10000, currency="EUR",
        closed_at=_at(TODAY - timedelta(days=20)), state="closed",
    )  # fmt: skip
    months = build_portfolio(manager, ListQuery(), TODAY).spend["EUR"]
    assert [m.first for m in months] == month_starts(TODAY)
    total = sum(m.spent for m in months)
    expected = cost_to_date(a, TODAY) + cost_to_date(b, TODAY)
    assert abs(total - expected) <= len(months)  # each month rounded to whole units
    first = months[0]
    assert first.monthly_costs == Decimal("40438")  # both ran in it (rates rounded)
    assert months[-1].partial and months[-1].monthly_costs == Decimal("30438")


def test_spend_is_not_there_for_who_may_not_see_cost(ctx):
    manager = make_user("manager")
    engagement = _engagement(manager)
    watcher = make_user("stakeholder")
    engagement.followers.append(watcher)
    db.session.commit()
    seen = build_portfolio(watcher, ListQuery(), TODAY)
    assert seen.spend is None and seen.health[-1].total == 1


def test_trials_per_quarter_with_what_came_of_them(ctx):
    manager = make_user("manager")
    started = _engagement(manager, started_days_ago=5)
    extended = _engagement(manager, started_days_ago=100, current_period=1, state="extension")
    ended = _engagement(
        manager, started_days_ago=120, state="closed", outcome="terminated",
        closed_at=_at(TODAY - timedelta(days=25)),
    )  # fmt: skip
    waiting = _engagement(manager, started_days_ago=95, state="milestone_review")
    quarters = {(q.year, q.quarter): q for q in build_portfolio(manager, ListQuery(), TODAY).trials}
    assert quarters[quarter_of(started.trial_start)].started >= 1
    ends = {}
    for engagement, outcome in [
        (extended, "extended"), (ended, "terminated"), (waiting, "awaiting a decision")
    ]:  # fmt: skip
        key = quarter_of(engagement.trial_end)
        ends.setdefault(key, {}).setdefault(outcome, 0)
        ends[key][outcome] += 1
    for key, outcomes in ends.items():
        assert quarters[key].ended == outcomes
    assert sum(q.started for q in quarters.values()) == 4


def test_providers_have_no_portfolio(ctx):
    priya = make_user("provider", provider="Northwind ML")
    with pytest.raises(NotFound):
        build_portfolio(priya, ListQuery(), TODAY)
