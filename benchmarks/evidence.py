"""Benchmark: a batch of 1,000 measurements through the service, beside a bare executemany.

    .venv/bin/python benchmarks/evidence.py [--count 1000] [--repeat 5] [--database URL]

In one run, on one database (a fresh SQLite file by default; 'postgres' starts a
throwaway cluster; or an empty postgresql:// URL):
- floor: the same rows inserted by one `executemany` INSERT on a bare connection and
  committed (no validation, no idempotency look-up, no health, no webhook);
- service: `record_batch` with every item carrying an idempotency key (validation of
  every item, the key look-up, the insert, health refresh, suggested verdicts before
  and after, the webhook event and the commit);
- replay: the same batch again (every key found, nothing inserted).
Each is the median of --repeat runs on a fresh metric. Target (issue 27): < 1 s per
1,000 on SQLite and PostgreSQL. Also prints the milestone judgment's query time, and
the engagement page and scorecard with 10 metrics × 1,000 measurements each (time,
bytes, queries) beside the same engagement's page without any metric (the floor).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

from sqlalchemy import insert  # noqa: E402

from config import TestingConfig  # noqa: E402
from tests.factories import add_milestone, make_engagement, make_user  # noqa: E402
from tracker import create_app  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.models import Measurement, MilestoneTarget  # noqa: E402
from tracker.services.evidence import measurements, metrics, reads  # noqa: E402


def _items(metric_id: int, count: int, tag: str) -> list[dict]:
    start = datetime.now(UTC) - timedelta(days=30)
    return [
        {
            "metric_id": metric_id,
            "value": 0.8 + i / (count * 100),
            "measured_at": start + timedelta(minutes=i),
            "idempotency_key": f"{tag}-{i}",
        }
        for i in range(count)
    ]


def _floor(engagement_id: int, metric_id: int, count: int) -> float:
    start = datetime.now(UTC) - timedelta(days=30)
    rows = [
        {
            "engagement_id": engagement_id,
            "metric_id": metric_id,
            "value": 0.8,
            "measured_at": start + timedelta(minutes=i),
            "measured_on": (start + timedelta(minutes=i)).date(),
            "note": "",
            "created_at": start,
        }
        for i in range(count)
    ]
    began = time.perf_counter()
    with db.engine.begin() as connection:
        connection.execute(insert(Measurement.__table__), rows)
    return time.perf_counter() - began


def _metric(manager, engagement, name: str):
    return metrics.create_metric(
        manager, engagement.id, {"name": name, "kind": "quality", "direction": "higher"}
    )


def _run(url: str, count: int, repeat: int) -> None:
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        db.create_all()
        manager = make_user("manager", email="bench@example.com")
        engagement = make_engagement(manager, title="Bench")
        milestone = add_milestone(engagement, days=10)
        floors, services, replays = [], [], []
        for n in range(repeat):
            floor_metric = _metric(manager, engagement, f"floor {n}")
            floors.append(_floor(engagement.id, floor_metric.id, count))
            metric = _metric(manager, engagement, f"service {n}")
            db.session.add(
                MilestoneTarget(milestone_id=milestone.id, metric_id=metric.id, target=0.9)
            )
            db.session.commit()
            items = _items(metric.id, count, f"run{n}")
            began = time.perf_counter()
            result = measurements.record_batch(manager, engagement.id, items)
            services.append(time.perf_counter() - began)
            assert result == {"recorded": count, "replayed": 0}, result
            began = time.perf_counter()
            again = measurements.record_batch(manager, engagement.id, items)
            replays.append(time.perf_counter() - began)
            assert again == {"recorded": 0, "replayed": count}, again
        began = time.perf_counter()
        judged = reads.target_statuses([milestone.id])
        judge_ms = (time.perf_counter() - began) * 1000
        backend = db.engine.dialect.name
        floor, service, replay = (statistics.median(x) for x in (floors, services, replays))
        print(f"{backend}: {count} measurements per batch, median of {repeat}")
        print(f"  floor (bare executemany + commit): {floor * 1000:8.1f} ms")
        print(f"  record_batch (service, keys):      {service * 1000:8.1f} ms  "
              f"({service / floor:.1f}x the floor; target < 1000 ms: "
              f"{'met' if service < 1 else 'MISSED'})")  # fmt: skip
        print(f"  replay (every key found):          {replay * 1000:8.1f} ms")
        print(f"  judging {len(judged[milestone.id])} targets over "
              f"{repeat * count * 2} measurements: {judge_ms:.1f} ms")  # fmt: skip
        _pages(app, manager, repeat)
        db.session.remove()
        db.engine.dispose()


def _pages(app, manager, repeat: int) -> None:
    """The engagement page and scorecard with 10 metrics x 1,000 measurements, and without."""
    from tests.conftest import count_queries, csrf_from
    from tests.factories import PASSWORD

    bare = make_engagement(manager, title="Bare")
    full = make_engagement(manager, title="Full")
    milestone = add_milestone(full, days=10)
    for n in range(10):
        metric = _metric(manager, full, f"metric {n}")
        db.session.add(MilestoneTarget(milestone_id=milestone.id, metric_id=metric.id, target=0.9))
        db.session.commit()
        _floor(full.id, metric.id, 1000)
    client = app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": manager.email, "password": PASSWORD, "csrf_token": token})
    for label, path in (
        ("page, no metrics (floor)", f"/engagements/{bare.id}"),
        ("page, 10 x 1,000", f"/engagements/{full.id}"),
        ("scorecard, 10 x 1,000", f"/engagements/{full.id}/scorecard"),
    ):
        times = []
        for _ in range(repeat):
            began = time.perf_counter()
            with count_queries(app) as counter:
                body = client.get(path).get_data()
            times.append(time.perf_counter() - began)
        print(f"  {label:28} {statistics.median(times) * 1000:7.1f} ms  "
              f"{len(body) / 1024:6.1f} KiB  {counter.count} queries")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database", help="a URL, or 'postgres' for a throwaway cluster")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-evidence-"))
    cluster = None
    if args.database == "postgres":
        from tests.support.postgres import PostgresCluster

        cluster = PostgresCluster().start()
        args.database = cluster.create_database("bench_evidence")
    try:
        _run(args.database or f"sqlite:///{workdir / 'bench.db'}", args.count, args.repeat)
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
