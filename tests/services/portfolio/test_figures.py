"""The portfolio's figures: health from the history rows, spend by the cost rule cut at
month ends, trials per quarter with what came of them; filters and visibility applied."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, select

from tests.factories import make_engagement, make_user
from tests.support.scheduler import day_pinned
from tracker.errors import NotFound
from tracker.extensions import db
from tracker.models import Engagement, HealthChange
from tracker.services.judgments.health_history import change_row, record_changes
from tracker.services.portfolio.figures import (
    build_portfolio,
    health_history,
    month_starts,
    quarter_of,
    sample_days,
)
from tracker.services.read_model.engagement_list import ListQuery
from tracker.services.staffing.cost import DAYS_PER_MONTH, cost_to_date

TODAY = date.today()


@pytest.fixture(autouse=True)
def _on_today(app):
    """The app's clock on this module's TODAY, even if the run crosses midnight UTC."""
    day_pinned(app, TODAY)


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


def _health_from_scratch(engagements, histories: dict, day: date) -> dict[str, int]:
    """Live engagements per health at the end of `day`, from the (day, health) changes and
    the closings alone: the last change on or before the day, unless closed by then."""
    counts = dict.fromkeys(("green", "amber", "red"), 0)
    for engagement in engagements:
        if engagement.closed_at is not None and engagement.closed_at.date() <= day:
            continue
        held = [health for at, health in histories[engagement.id] if at.date() <= day]
        if held:
            counts[held[-1]] += 1
    return counts


def test_health_both_ways_agree_with_a_recomputation_from_scratch(ctx):
    """Random histories and closings: the range counts on the indexes (everything
    visible) and the grouped rows of the selected engagements (a filter) both give what
    the changes and closings say, point by point (docs/adr/0234)."""
    rng = random.Random(31)
    manager = make_user("manager")
    engagements, histories = [], {}
    for i in range(12):
        engagement = _engagement(manager, provider=f"Provider {i % 2}")
        days = sorted(rng.sample(range(1, 220), rng.randint(1, 6)), reverse=True)
        changes = [(d, rng.choice(["green", "amber", "red"])) for d in days]
        if rng.random() < 0.4:  # closed between two of its changes, or after the last
            engagement.closed_at = _at(TODAY - timedelta(days=rng.randint(0, days[0])), hour=9)
            engagement.state = "closed"
            db.session.commit()
        _history(engagement, *changes)
        histories[engagement.id] = [(_at(TODAY - timedelta(days=d)), h) for d, h in changes]
        engagements.append(engagement)
    assert any(e.closed_at for e in engagements) and any(not e.closed_at for e in engagements)
    everyone = build_portfolio(manager, ListQuery(), TODAY).health
    expected = [_health_from_scratch(engagements, histories, p.day) for p in everyone]
    assert [p.counts for p in everyone] == expected
    ids = select(Engagement.id)  # the same engagements, asked for by id: the grouped way
    assert health_history(ids, TODAY, everything=False) == everyone
    provider = engagements[0].provider_id
    filtered = build_portfolio(manager, ListQuery(provider_id=provider), TODAY).health
    mine = [e for e in engagements if e.provider_id == provider]
    assert [p.counts for p in filtered] == [
        _health_from_scratch(mine, histories, p.day) for p in filtered
    ]


def test_spend_agrees_with_the_cost_rule_month_by_month(ctx):
    """Random starts, costs and closings (some closed before their trial began, some on
    a month's first day): each month's spend and monthly costs are the cost rule applied
    to each engagement's days in that month, added up."""
    rng = random.Random(2026)
    manager = make_user("manager")
    engagements = []
    firsts = month_starts(TODAY)
    for _ in range(15):
        engagement = _engagement(
            manager, started_days_ago=rng.randint(-5, 300), cost=rng.choice([9000, 21000, 30437.5])
        )
        if rng.random() < 0.5:
            closed = rng.choice([TODAY - timedelta(days=rng.randint(0, 200)), rng.choice(firsts)])
            engagement.closed_at = _at(closed)
            engagement.state = "closed"
        engagements.append(engagement)
    db.session.commit()
    months = build_portfolio(manager, ListQuery(), TODAY).spend["EUR"]
    for month in months:
        stop = min(
            date(month.first.year + month.first.month // 12, month.first.month % 12 + 1, 1), TODAY
        )
        accrued, rates = Decimal(0), Decimal(0)
        for engagement in engagements:
            if engagement.trial_start is None or engagement.trial_start >= TODAY:
                continue
            end = engagement.closed_at.date() if engagement.closed_at else TODAY
            days = (min(end, stop) - max(engagement.trial_start, month.first)).days
            if days > 0:
                accrued += engagement.monthly_cost * days
                rates += engagement.monthly_cost
        assert month.spent == (accrued / DAYS_PER_MONTH).quantize(Decimal(1)), month
        assert month.monthly_costs == rates.quantize(Decimal(1)), month
