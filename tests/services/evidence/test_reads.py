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
