"""Benchmark: the deployment's audit export (CSV and JSON Lines) against its floor.

Run: .venv/bin/python benchmarks/audit_export.py [--rows N] [--database-url URL]
Bulk-inserts N audit events (a tenth tied to 100 engagements, the rest sign-ins and token
events with none) into a fresh SQLite file (or an empty PostgreSQL database), then streams
each export once, counting SQL statements, wall time, lines and the peak of Python memory
allocated while streaming (tracemalloc). The floor, in the same run: the same SELECT read
with the same yield_per and thrown away (no formatting). Then the CSV again over a tenth of
the rows (a date filter), to show that memory does not follow the row count.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from sqlalchemy import event, insert, select  # noqa: E402

from config import TestingConfig  # noqa: E402
from tracker import create_app  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.models import AuditEvent, User  # noqa: E402
from tracker.services.administration import users as user_service  # noqa: E402
from tracker.services.audit_export import export  # noqa: E402

START = datetime(2026, 1, 1, tzinfo=UTC)


def fill(rows: int) -> None:
    admin = user_service.create_user(
        email="bench@example.com", name="Bench", role="admin", password=None
    )
    batch = []
    for n in range(rows):
        batch.append(
            {
                "engagement_id": None,
                "actor_id": admin.id,
                "actor_label": "Bench",
                "kind": "signed_in" if n % 3 else "token_created",
                "reason": None,
                "data": {"user_id": admin.id, "address": f"10.0.{n % 250}.{n % 200}"},
                "created_at": START + timedelta(seconds=n * 30),
            }
        )
        if len(batch) == 10_000:
            db.session.execute(insert(AuditEvent), batch)
            batch.clear()
    if batch:
        db.session.execute(insert(AuditEvent), batch)
    db.session.commit()


def measure(name: str, make_chunks) -> None:
    statements = []
    listener = lambda *args: statements.append(1)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    tracemalloc.start()
    started, cpu = time.perf_counter(), time.process_time()
    lines = size = 0
    for chunk in make_chunks():
        lines += chunk.count("\n")
        size += len(chunk)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    event.remove(db.engine, "before_cursor_execute", listener)
    print(f"| {name} | {lines:,} | {size / 1e6:.1f} MB | {elapsed:.2f} s | {cpu:.2f} s | "
          f"{len(statements)} | {peak / 1e6:.1f} MB |")  # fmt: skip


def floor(flt: export.AuditFilter):
    """The same SELECT and batches, nothing formatted: what the database and driver cost."""
    result = db.session.execute(export.query(flt).execution_options(yield_per=export.BATCH))
    for partition in result.partitions():
        yield "\n" * len(partition)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/audit.db"
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        db.create_all()
        started = time.perf_counter()
        fill(args.rows)
        print(f"inserted {args.rows:,} events in {time.perf_counter() - started:.0f} s; "
              f"{platform.python_version()}, {db.engine.dialect.name}")  # fmt: skip
        admin = db.session.scalar(select(User).where(User.email == "bench@example.com"))
        everything = export.AuditFilter()
        last_day = (START + timedelta(seconds=args.rows * 30)).date()
        tenth = export.AuditFilter(
            since=last_day - timedelta(days=(last_day - START.date()).days // 10)
        )
        print("| export | lines | size | wall | CPU | SQL statements | peak Python memory |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        measure("floor: the SELECT, read and dropped", lambda: floor(everything))
        measure("CSV, everything", lambda: export.export_csv(admin, everything))
        measure("JSON Lines, everything", lambda: export.export_jsonl(admin, everything))
        measure("CSV, the last tenth of the days", lambda: export.export_csv(admin, tenth))


if __name__ == "__main__":
    main()
