"""Drift (issue 31): the one function adding up approved requests, and the engagements with
the largest drift among a set of ids, in a fixed number of queries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from tests.conftest import count_queries
from tests.factories import add_milestone, make_engagement, make_user
from tests.support.scheduler import day_pinned
from tracker.extensions import db
from tracker.services.change_requests import drift, service
from tracker.services.change_requests.drift import ApprovedFact, compute_drift

TODAY = date.today()


@pytest.fixture(autouse=True)
def _on_today(app):
    """The app's clock on this module's TODAY, even if the run crosses midnight UTC."""
    day_pinned(app, TODAY)


def _fact(i, days, monthly, total, decided):
    return ApprovedFact(i, f"r{i}", decided, days, Decimal(monthly), Decimal(total))


def test_compute_drift_counts_requests_since_the_trial_began_only():
    start = date(2026, 9, 1)
    before = datetime(2026, 8, 20, tzinfo=UTC)
    after = datetime(2026, 9, 10, tzinfo=UTC)
    facts = [
        _fact(1, 30, 5000, 15000, before),  # decided before the trial: not counted
        _fact(2, 10, 1000, 3000, after),
        _fact(3, 12, 2000, 6000, after + timedelta(days=1)),
    ]
    result = compute_drift(facts, Decimal("23000"), start)
    assert (result.slip_days, result.cost_added, result.cost_added_monthly) == (22, 9000, 3000)
    assert result.cost_percent == 15.0  # 3,000 on the 20,000 a month before them
    assert [r.id for r in result.requests] == [2, 3]
    assert result.over(21, 15.0) == ["22 days of slip (over 21)"]
    assert result.over(22, 14.0) == ["15% added to the monthly cost (over 14%)"]
    assert compute_drift([], Decimal("0"), start).cost_percent is None


def _trial_with_slips(owner, provider, title, slips):
    engagement = make_engagement(owner, title=title)
    engagement.state = "trial"
    engagement.trial_start = engagement.period_start = TODAY
    engagement.trial_end = engagement.period_end = TODAY + timedelta(days=90)
    db.session.commit()
    milestone = add_milestone(engagement)
    admin = make_user("admin")
    for slip in slips:
        to = (milestone.due_date + timedelta(days=slip)).isoformat()
        change = {"target": "milestone", "id": milestone.id, "field": "due_date", "to": to}
        request = service.raise_request(owner, engagement.id, {"changes": [change], "why": "x"})
        service.approve(admin, request.id)
        db.session.refresh(milestone)
    return engagement.id


def test_largest_drift_ranks_visible_engagements_in_two_queries(app, ctx):
    owner = make_user("manager")
    make_user("provider", provider="Northwind ML")
    small = _trial_with_slips(owner, None, "Small", [5])
    large = _trial_with_slips(owner, None, "Large", [10, 20])
    none = _trial_with_slips(owner, None, "None", [])
    other = make_engagement(owner, provider="Quanta Labs", title="Quanta")
    ids = [small, large, none, other.id]
    assert owner.role == "manager"  # loaded before counting (the commit expired it)
    with count_queries(app) as counter:
        ranked = drift.largest_drift(owner, ids)
    assert [(e.id, d.slip_days) for e, d in ranked] == [(large, 30), (small, 5)]
    assert counter.count == 2
    quanta = make_user("provider", provider="Quanta Labs")
    assert drift.largest_drift(quanta, ids) == []  # none of those it may see drifted
    assert [e.id for e, _ in drift.largest_drift(owner, ids, limit=1)] == [large]
