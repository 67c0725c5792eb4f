"""A provider's record: each figure from the stored rows, with the engagements behind it,
only over what the viewer may see, cost only for who may see cost."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from tests.factories import (
    add_member,
    add_metric,
    add_milestone,
    add_target,
    make_engagement,
    make_user,
)
from tests.support.scheduler import day_pinned
from tracker.errors import NotFound
from tracker.extensions import db
from tracker.models import Measurement, MilestoneUpdate
from tracker.services.milestone_status import displayed_status
from tracker.services.portfolio.record import provider_record, standing
from tracker.services.staffing.cost import cost_to_date

TODAY = date.today()


@pytest.fixture(autouse=True)
def _on_today(app):
    """The app's clock on this module's TODAY, even if the run crosses midnight UTC."""
    day_pinned(app, TODAY)


def _at(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC).replace(hour=12)


def _running(owner, provider="Northwind ML", *, started_days_ago=60, cost=30000, **fields):
    engagement = make_engagement(owner, provider=provider, monthly_cost=cost)
    engagement.trial_start = TODAY - timedelta(days=started_days_ago)
    engagement.trial_end = engagement.trial_start + timedelta(days=90)
    engagement.state = "trial"
    for name, value in fields.items():
        setattr(engagement, name, value)
    db.session.commit()
    return engagement


def _milestone(engagement, *, due_in, status, period=0, done_days_after_due=None):
    milestone = add_milestone(engagement, days=due_in, status=status, period=period)
    if done_days_after_due is not None:
        done = milestone.due_date + timedelta(days=done_days_after_due)
        db.session.add(
            MilestoneUpdate(milestone_id=milestone.id, status="done", created_at=_at(done))
        )
        if status == "met":
            milestone.verdict_at = _at(done + timedelta(days=1))
        db.session.commit()
    return milestone


@pytest.fixture
def world(ctx):
    manager = make_user("manager")
    ours = _running(manager)
    closed = _running(
        manager,
        started_days_ago=200,
        state="closed",
        outcome="completed",
        closed_at=_at(TODAY - timedelta(days=20)),
        readiness_score=80,
    )
    other = _running(manager, provider="Quanta Labs")
    return manager, ours, closed, other


def test_engagements_by_state_and_outcome_link_to_their_engagements(world):
    manager, ours, closed, other = world
    record = provider_record(manager, ours.provider_id, TODAY)
    assert record.engagements.count == 2
    assert set(record.engagements.engagement_ids) == {ours.id, closed.id}
    labels = {f.label: f.engagement_ids for f in record.by_state}
    assert labels == {"Trial": (ours.id,), "Closed (completed)": (closed.id,)}
    assert other.id not in record.engagements.engagement_ids


def test_trial_pass_rate_counts_trial_verdicts_only(world):
    manager, ours, closed, _ = world
    _milestone(ours, due_in=-20, status="met", done_days_after_due=-2)
    _milestone(ours, due_in=-10, status="missed")
    _milestone(closed, due_in=-150, status="met", done_days_after_due=0)
    _milestone(closed, due_in=-100, status="missed", period=1)  # an extension's
    record = provider_record(manager, ours.provider_id, TODAY)
    assert record.trial_met.count == 2 and record.trial_missed.count == 1
    assert record.trial_missed.engagement_ids == (ours.id,)
    assert record.trial_pass_rate == pytest.approx(2 / 3)


def test_on_time_and_days_late_over_the_milestones_already_due(world):
    manager, ours, closed, _ = world
    _milestone(ours, due_in=-30, status="met", done_days_after_due=-1)  # on time
    _milestone(ours, due_in=-25, status="met", done_days_after_due=4)  # 4 days late
    _milestone(ours, due_in=-6, status="at_risk")  # open, 6 days late so far
    _milestone(closed, due_in=-120, status="missed")  # late, no day count
    _milestone(ours, due_in=10, status="on_track")  # not due: not counted
    record = provider_record(manager, ours.provider_id, TODAY)
    assert record.on_time.count == 1 and record.late.count == 3
    assert set(record.late.engagement_ids) == {ours.id, closed.id}
    assert record.on_time_rate == pytest.approx(1 / 4)
    assert record.days_late == [4, 6]
    assert record.median_days_late == 5


def test_a_removed_milestone_is_left_out(world):
    manager, ours, _, _ = world
    milestone = _milestone(ours, due_in=-20, status="missed")
    milestone.removed_at = _at(TODAY)
    db.session.commit()
    record = provider_record(manager, ours.provider_id, TODAY)
    assert record.trial_missed.count == 0 and record.late.count == 0


def test_standing_reads_as_the_displayed_status_does(world):
    _, ours, _, _ = world
    for due_in, status in [(-5, "met"), (-5, "missed"), (-5, "on_track"), (-5, "done"),
                           (5, "met"), (5, "blocked"), (0, "planned")]:  # fmt: skip
        milestone = _milestone(ours, due_in=due_in, status=status)
        shown = displayed_status(milestone, TODAY).key
        ours_says = standing(milestone.status, milestone.due_date, TODAY)
        if ours_says == "open":
            assert shown not in ("met", "missed", "overdue"), (due_in, status, shown)
        else:
            assert shown == ours_says, (due_in, status)


def test_verdicts_against_the_suggestion_from_measured_targets(world):
    manager, ours, _, _ = world
    metric = add_metric(ours)
    followed = _milestone(ours, due_in=-20, status="met")
    overruled = _milestone(ours, due_in=-10, status="met")
    add_target(followed, metric, metric.baseline)  # met by the baseline itself
    add_target(overruled, metric, 10**9)  # far out of reach
    db.session.add(
        Measurement(
            engagement_id=ours.id,
            metric_id=metric.id,
            value=metric.baseline,
            measured_on=TODAY - timedelta(days=30),
            measured_at=_at(TODAY - timedelta(days=30)),
        )
    )
    db.session.commit()
    record = provider_record(manager, ours.provider_id, TODAY)
    assert record.verdict_agrees.count == 1 and record.verdict_differs.count == 1
    assert record.verdict_differs.engagement_ids == (ours.id,)


def test_staff_changes_count_external_members_replaced_mid_engagement(world):
    manager, ours, closed, _ = world
    leaver = add_member(ours, "Ada Left")
    leaver.start_date, leaver.end_date = ours.trial_start, TODAY - timedelta(days=10)
    joiner = add_member(ours, "Ben Joined")
    joiner.start_date = TODAY - timedelta(days=9)
    # left at the close: not mid-engagement; an internal leaver is no staff change
    at_close = add_member(closed, "Cleo Stayed")
    at_close.start_date, at_close.end_date = closed.trial_start, closed.closed_at.date()
    later = add_member(closed, "Dan Later")
    later.start_date = closed.trial_start + timedelta(days=5)
    internal = add_member(ours, "Ines Internal", external=False)
    internal.start_date, internal.end_date = ours.trial_start, TODAY - timedelta(days=3)
    db.session.commit()
    record = provider_record(manager, ours.provider_id, TODAY)
    assert record.staff_changes.count == 1
    assert record.staff_changes.engagement_ids == (ours.id,)


def test_readiness_at_close_and_cost_to_date(world):
    manager, ours, closed, _ = world
    record = provider_record(manager, ours.provider_id, TODAY)
    assert record.readiness_scores == [80] and record.readiness_at_close == 80
    expected = (cost_to_date(ours, TODAY) + cost_to_date(closed, TODAY)).quantize(Decimal(1))
    assert record.cost_to_date == {"EUR": expected}
    assert expected > 0


def test_a_provider_sees_its_own_record_without_cost_and_no_other(world):
    _, ours, _, other = world
    priya = make_user("provider", provider="Northwind ML")
    record = provider_record(priya, ours.provider_id, TODAY)
    assert record.cost_to_date is None and record.engagements.count == 2
    with pytest.raises(NotFound) as missing_other:
        provider_record(priya, other.provider_id, TODAY)
    with pytest.raises(NotFound) as missing_at_all:
        provider_record(priya, 999_999, TODAY)
    assert str(missing_other.value) == str(missing_at_all.value)


def test_a_stakeholder_counts_only_what_they_follow_and_sees_no_cost(world):
    _, ours, closed, _ = world
    watcher = make_user("stakeholder")
    ours.followers.append(watcher)
    db.session.commit()
    record = provider_record(watcher, ours.provider_id, TODAY)
    assert record.engagements.engagement_ids == (ours.id,)
    assert record.cost_to_date is None
    assert closed.id not in {i for f in record.figures() for i in f.engagement_ids}


def test_approved_change_requests_and_their_cost_link_to_their_engagements(world):
    from tracker.services.change_requests import service

    manager, ours, _, other = world
    admin = make_user("admin")
    for engagement, to, total in ((ours, 33000, 9000), (other, 31000, 3000)):
        change = {"target": "engagement", "field": "monthly_cost", "to": to}
        data = {"changes": [change], "why": "more GPUs", "cost_delta_total": total}
        service.approve(admin, service.raise_request(manager, engagement.id, data).id)
    proposed = {"changes": [{"target": "engagement", "field": "monthly_cost", "to": 40000}]}
    service.raise_request(manager, ours.id, {**proposed, "why": "not yet decided"})

    record = provider_record(manager, ours.provider_id, TODAY)
    assert record.change_requests.count == 1  # the approved one; not the proposal
    assert record.change_requests.engagement_ids == (ours.id,)  # not Quanta's
    assert record.change_request_cost == {ours.currency: Decimal("9000")}
    assert record.figure("change_requests") is record.change_requests
    priya = make_user("provider", provider="Northwind ML")
    theirs = provider_record(priya, ours.provider_id, TODAY)
    assert theirs.change_requests.count == 1 and theirs.change_request_cost is None
