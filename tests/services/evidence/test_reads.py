"""Reading evidence: the chart series thinned in SQL, the latest point per target, supersession."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from tests.factories import add_metric, add_milestone, add_target, make_engagement
from tracker.extensions import db
from tracker.models import Measurement
from tracker.services.evidence import reads

# On PostgreSQL too (ADR 0216): dialect-specific SQL: correlated subqueries, integer division.
pytestmark = pytest.mark.postgres


def _points(engagement, metric, values, start):
    rows = []
    for i, value in enumerate(values):
        when = start + timedelta(hours=i)
        rows.append(
            {"engagement_id": engagement.id, "metric_id": metric.id, "value": value,
             "measured_at": when, "measured_on": when.date(), "note": "", "created_at": when}
        )  # fmt: skip
    db.session.execute(insert(Measurement), rows)
    db.session.commit()


def test_a_long_series_comes_back_thinned_with_its_count_and_its_newest_points(ctx):
    engagement = make_engagement()
    metric = add_metric(engagement)
    start = datetime.now(UTC) - timedelta(days=30)
    _points(engagement, metric, [float(i) for i in range(700)], start)
    points, count = reads.series([metric.id])[metric.id]
    assert count == 700 and 100 <= len(points) <= 130
    assert [p.value for p in points[-10:]] == [float(i) for i in range(690, 700)]
    assert points[0].value == 0.0
    assert [p.measured_at for p in points] == sorted(p.measured_at for p in points)


def test_the_latest_point_skips_superseded_ones_and_those_after_the_due_date(ctx):
    engagement = make_engagement()
    metric = add_metric(engagement, direction="lower")
    milestone = add_milestone(engagement, days=-1)
    add_target(milestone, metric, 10.0)
    start = datetime.now(UTC) - timedelta(days=3)
    _points(engagement, metric, [12.0, 9.0], start)  # both before the due date
    wrong = db.session.query(Measurement).filter_by(value=9.0).one()
    db.session.add(
        Measurement(
            engagement_id=engagement.id, metric_id=metric.id, value=11.0,
            measured_at=wrong.measured_at, measured_on=wrong.measured_on,
            supersedes_id=wrong.id, correction_reason="wrong region",
        )
    )  # fmt: skip
    _points(engagement, metric, [1.0], datetime.now(UTC))  # after the due date: not counted
    judged = reads.target_statuses([milestone.id])[milestone.id][0]
    assert (judged.latest, judged.status) == (11.0, "not_met")


def test_a_list_summarises_only_engagements_with_a_live_target_this_period(ctx):
    """list_evidence reads the period's milestones of engagements with a live target on
    one of them only: the summary counts every milestone of that period (a missed one
    without targets too); a target in another period, on a removed milestone or on a
    removed metric makes no summary; the next milestones' targets are judged all the same."""
    from tracker.core import clock

    measured, other_period, removed_metric, removed_milestone, bare = (
        make_engagement(title=title) for title in ("A", "B", "C", "D", "E")
    )
    metric = add_metric(measured)
    add_target(add_milestone(measured, days=-2), metric, 0.5)  # overdue, no verdict
    add_milestone(measured, days=-5, status="missed")  # no target, counted all the same
    add_milestone(measured, days=40)
    later = add_milestone(other_period, days=20, period=1)
    add_target(later, add_metric(other_period), 0.5)
    add_milestone(other_period, days=10)
    gone = add_metric(removed_metric)
    add_target(add_milestone(removed_metric, days=10), gone, 0.5)
    gone.removed_at = clock.now()
    dropped = add_milestone(removed_milestone, days=10)
    add_target(dropped, add_metric(removed_milestone), 0.5)
    dropped.removed_at = clock.now()
    add_milestone(bare, days=10)
    db.session.commit()
    ids = [e.id for e in (measured, other_period, removed_metric, removed_milestone, bare)]
    summaries, judged = reads.list_evidence(ids, [later.id], clock.now().date())
    assert set(summaries) == {measured.id}
    summary = summaries[measured.id]
    assert (summary.met, summary.targets, summary.missed, summary.overdue) == (0, 1, 1, 1)
    assert [t.status for t in judged[later.id]] == ["no_data"]
    assert reads.targets_met_many(ids) == {measured.id: (0, 1)}
