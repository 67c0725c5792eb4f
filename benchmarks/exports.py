"""Benchmark: CSV export of 10,000 engagements (dashboard and API paths) and one calendar feed.

Run: .venv/bin/python benchmarks/exports.py [--engagements N] [--database-url URL]
Generates the scale data (tracker.services.scale_data) into a fresh SQLite file (or an empty
PostgreSQL database), then streams each export once, counting SQL statements, wall time,
rows and the peak of Python memory allocated while streaming (tracemalloc).
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from sqlalchemy import event, select  # noqa: E402

from config import TestingConfig  # noqa: E402
from tracker import create_app  # noqa: E402
from tracker.core import clock  # noqa: E402
from tracker.demo import scale_data  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.models import User  # noqa: E402
from tracker.services.exchange import calendar_events, calendar_feed, csv_export  # noqa: E402
from tracker.services.read_model.engagement_list import ListQuery  # noqa: E402


def measure(name: str, make_chunks) -> None:
    statements = []
    listener = lambda *args: statements.append(1)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    tracemalloc.start()
    started, cpu = time.perf_counter(), time.process_time()
    lines = size = 0
    for chunk in make_chunks():
        lines += chunk.count("\r\n") if isinstance(chunk, str) else chunk.count(b"\r\n")
        size += len(chunk)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    event.remove(db.engine, "before_cursor_execute", listener)
    print(f"| {name} | {lines:,} | {size / 1e6:.1f} MB | {elapsed:.2f} s | {cpu:.2f} s | "
          f"{len(statements)} | {peak / 1e6:.1f} MB |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engagements", type=int, default=10_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/exports.db"
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        db.create_all()
        started = time.perf_counter()
        scale_data.generate(args.engagements, seed=3)
        print(f"generated {args.engagements:,} in {time.perf_counter() - started:.0f} s; "
              f"{platform.python_version()}, {db.engine.dialect.name}")  # fmt: skip
        manager = db.session.scalar(select(User).where(User.role == "manager").limit(1))
        today = clock.now().date()
        print("| export | lines | size | wall | CPU | SQL statements | peak Python memory |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        measure(
            "dashboard CSV, all live, by title",
            lambda: csv_export.engagements_csv(
                manager, ListQuery(sort="title", descending=False, live_only=True), today
            ),
        )
        measure(
            "API CSV, all, -updated_at",
            lambda: csv_export.engagements_csv(manager, ListQuery(), today),
        )
        feed = calendar_feed.set_scope(manager, "all")
        scope = calendar_feed.scope_for(feed)
        measure("calendar feed, first (writes SEQUENCE rows)",
                lambda: [calendar_events.render_feed(scope, "bench")])  # fmt: skip
        measure("calendar feed, again", lambda: [calendar_events.render_feed(scope, "bench")])
        measure("calendar feed, 304 probe", lambda: [repr(calendar_feed.freshness(scope)).encode()])


if __name__ == "__main__":
    main()
