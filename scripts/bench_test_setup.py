"""What a test pays before it starts: the old per-test path against the one the suite uses.

Prints the median of N runs (ms) of each way to give a test its app and database, beside
a floor measured in the same run (copying the SQLite template: the least any fresh
database can cost). Each PostgreSQL reset follows an untimed fill of the tables a
typical test writes. The PostgreSQL rows need the system binaries; without them they
are left out and the script says so. ADR 0180 explains the choice.

    .venv/bin/python scripts/bench_test_setup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import build_app  # noqa: E402
from tests.support.databases import (  # noqa: E402
    SharedApp,
    copy_sqlite,
    create_schema,
    empty_postgres,
    sqlite_url,
    truncate_postgres,
)
from tests.support.postgres import PostgresCluster, PostgresUnavailable  # noqa: E402
from tracker.extensions import db  # noqa: E402


def median_ms(action, runs: int, before=None) -> float:
    """Median wall ms of `action` over `runs`; `before` runs untimed ahead of each."""
    samples = []
    for _ in range(runs):
        if before is not None:
            before()
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _fill(app) -> None:
    """Rows in the tables a typical test writes (untimed: each reset empties them)."""
    from tests.factories import make_engagement

    with app.app_context():
        make_engagement()
        db.session.remove()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    work = Path(tempfile.mkdtemp(prefix="bench-setup-"))
    template = work / "template.db"
    create_schema(sqlite_url(template))
    counter = iter(range(10**6))

    def old_sqlite():
        url = sqlite_url(work / f"old-{next(counter)}.db")
        create_schema(url)
        build_app(url, work)

    shared = SharedApp.build(
        "sqlite", sqlite_url(work / "shared.db"), work / "shared.db", lambda u: build_app(u, work)
    )

    rows = [
        (
            "floor: copy the SQLite template",
            median_ms(lambda: copy_sqlite(template, work / "floor.db"), runs),
        ),
        ("old SQLite: create_all + create_app", median_ms(old_sqlite, runs)),
        (
            "new SQLite: shared app checkout (copy + reset)",
            median_ms(lambda: shared.checkout(work, template), runs),
        ),
    ]
    try:
        cluster = PostgresCluster().start()
    except (PostgresUnavailable, OSError) as exc:
        print(f"PostgreSQL rows left out: {exc}")
        cluster = None
    if cluster is not None:
        try:
            url = cluster.create_database("bench")
            create_schema(url)
            app = build_app(url, work)

            rows += [
                (
                    "old PostgreSQL: TRUNCATE … RESTART IDENTITY CASCADE",
                    median_ms(lambda: truncate_postgres(app), runs, before=lambda: _fill(app)),
                ),
                (
                    "new PostgreSQL: DELETE from every table, sequences restarted",
                    median_ms(lambda: empty_postgres(app), runs, before=lambda: _fill(app)),
                ),
            ]
        finally:
            cluster.stop()
    floor = rows[0][1]
    width = max(len(name) for name, _ in rows)
    print(f"{'per test':<{width}}  median ms  × floor")
    for name, value in rows:
        print(f"{name:<{width}}  {value:9.1f}  {value / floor:7.0f}")


if __name__ == "__main__":
    main()
