"""The milestone JSON and a metric's measurements cost the same queries whatever was measured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from tracker.extensions import db
from tracker.models import Measurement

# On PostgreSQL too (ADR 0216): dialect-specific SQL: correlated subqueries, integer division.
pytestmark = pytest.mark.postgres


def _metric_with_target(api, world) -> int:
    body = {"name": "F1", "kind": "quality", "direction": "higher", "baseline": 0.7}
    metric = api.post(f"/engagements/{world.engagements['own']}/metrics", "manager", json=body)
    metric_id = metric.get_json()["id"]
    path = f"/milestones/{world.milestones['own']}/targets/{metric_id}"
    assert api.call("PUT", path, "manager", json={"target": 0.8}).status_code == 200
    return metric_id


def _grow(app, world, metric_id: int, count: int) -> None:
    start = datetime.now(UTC) - timedelta(days=count + 1)
    rows = [
        {
            "engagement_id": world.engagements["own"],
            "metric_id": metric_id,
            "value": 0.7 + i / (count * 10),
            "measured_at": start + timedelta(hours=i),
            "measured_on": (start + timedelta(hours=i)).date(),
            "note": "",
            "created_at": start,
        }
        for i in range(count)
    ]
    with app.app_context():
        db.session.execute(insert(Measurement), rows)
        db.session.commit()


def test_milestone_json_and_measurement_list_queries_are_constant(api, world, app, query_counter):
    metric_id = _metric_with_target(api, world)
    paths = [
        f"/milestones/{world.milestones['own']}",
        f"/engagements/{world.engagements['own']}/milestones",
        f"/metrics/{metric_id}/measurements",
        f"/engagements/{world.engagements['own']}/metrics",
    ]
    counts = []
    for grow in (3, 600):
        _grow(app, world, metric_id, grow)
        found = []
        for path in paths:
            with query_counter() as counter:
                assert api.get(path, "manager").status_code == 200
            found.append(counter.count)
        counts.append(found)
    assert counts[0] == counts[1], counts
    body = api.get(f"/milestones/{world.milestones['own']}", "manager").get_json()
    # the latest point is the first batch's last (the 600 are older): 0.7 + 2/30 < 0.8
    latest = body["targets"][0]
    assert latest["status"] == "not_met" and abs(latest["latest"] - (0.7 + 2 / 30)) < 1e-9
