"""Benchmark: one idle `run_tick` with many future rows, beside a one-statement floor.

    .venv/bin/python benchmarks/idle_tick.py [--rows 100000] [--runs 200] [--profile 12]
        [--database URL | --database postgres]

Fills a fresh database (a SQLite file by default; 'postgres' starts a throwaway cluster
from tests/support/postgres.py) with `rows` pending reminders, `rows` pending outbox
emails and `rows` pending workflow timers, every one due in the future (1 to 70 days
ahead), so a tick has nothing to do. Then, on the same app and connection pool:
- floor: one trivial indexed SELECT (a reminder by primary key) and the end of its
  transaction, through the same session (median of `runs`);
- idle tick: `run_tick()` (every step, as `flask scheduler tick` runs it), median, p90
  and max of `runs`, after one warm-up tick.
Every SQL statement the ticks issue is timed (cursor events): the costliest are printed
with their time per tick, and EXPLAIN for each (EXPLAIN QUERY PLAN on SQLite). On
PostgreSQL the ticks are measured before and after ANALYZE (a bulk load leaves the
planner without statistics until autovacuum gets to it). `--profile N` then runs 20
more ticks under cProfile and prints the N functions of tracker/ with the most
cumulative time per tick (where the time outside the SQL goes). Target (issue 16): < 5 ms.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

from sqlalchemy import event, insert, select, text  # noqa: E402

from benchmarks.reminders import _engagement  # noqa: E402
from config import TestingConfig  # noqa: E402
from tracker import create_app  # noqa: E402
from tracker.core import clock  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.models import OutboxEmail, Reminder, WorkflowTimer  # noqa: E402
from tracker.scheduling.tick import run_tick  # noqa: E402


def _fill(rows: int) -> None:
    engagement = _engagement()
    now = clock.now()
    chunk = 5000
    for start in range(0, rows, chunk):
        numbers = range(start, min(start + chunk, rows))
        due = [now + timedelta(days=1, seconds=60 * n) for n in numbers]
        db.session.execute(
            insert(Reminder),
            [
                dict(
                    key=f"idle:{n}",
                    rule="milestone_due_soon",
                    engagement_id=engagement.id,
                    subject_type="milestone",
                    subject_id=n,
                    due_at=at,
                    status="pending",
                    created_at=now,
                )
                for n, at in zip(numbers, due, strict=True)
            ],
        )
        db.session.execute(
            insert(OutboxEmail),
            [
                dict(
                    key=f"idle:{n}",
                    message_id=f"<idle{n}@bench>",
                    to_address=f"u{n}@example.com",
                    subject=f"Subject {n}",
                    text_body="plain body " * 40,
                    html_body="<p>html body</p>" * 40,
                    headers={},
                    category="reminder",
                    status="pending",
                    attempts=0,
                    next_attempt_at=at,
                    created_at=now,
                )
                for n, at in zip(numbers, due, strict=True)
            ],
        )
        db.session.execute(
            insert(WorkflowTimer),
            [
                dict(
                    engagement_id=engagement.id,
                    event="close",
                    from_state="trial",
                    due_at=at,
                    status="pending",
                    attempts=0,
                    created_at=now,
                )
                for at in due
            ],
        )
        db.session.commit()


class StatementTimer:
    """Sums each distinct SQL statement's time while `on` is set."""

    def __init__(self, engine):
        self.on = False
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.params: dict[str, object] = {}
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        if self.on:
            self.seconds[statement] += time.perf_counter() - conn.info["bench_started"]
            self.calls[statement] += 1
            self.params[statement] = parameters

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _ticks(runs: int, timer: StatementTimer) -> list[float]:
    run_tick()  # warm-up: definitions loaded, statements compiled, step rows written
    timer.reset()
    timer.on = True
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        results = run_tick()
        samples.append(time.perf_counter() - started)
    timer.on = False
    busy = {k: v for k, v in results.items() if v not in (0, None)}
    if busy:
        print(f"  (the last tick was not idle: {busy})")
    return samples


def _floor(runs: int) -> list[float]:
    first = db.session.scalar(select(Reminder.id).order_by(Reminder.id).limit(1))
    db.session.rollback()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        db.session.scalar(select(Reminder.id).where(Reminder.id == first))
        db.session.commit()
        samples.append(time.perf_counter() - started)
    return samples


def _report(label: str, ticks: list[float], floor: list[float], timer, runs: int, top: int):
    p90 = sorted(ticks)[int(len(ticks) * 0.9)] * 1000
    print(
        f"{label}: idle tick median {_median_ms(ticks):.2f} ms, p90 {p90:.2f} ms, "
        f"max {max(ticks) * 1000:.2f} ms (target < 5 ms); floor median "
        f"{_median_ms(floor):.3f} ms; tick / floor = {_median_ms(ticks) / _median_ms(floor):.0f}x"
    )
    statements = sum(timer.calls.values()) / runs
    sql = sum(timer.seconds.values()) / runs * 1000
    print(f"  per tick: {statements:.1f} statements, {sql:.2f} ms in the driver (mean)")
    ranked = sorted(timer.seconds.items(), key=lambda kv: -kv[1])[:top]
    for statement, seconds in ranked:
        one_line = " ".join(statement.split())
        print(
            f"  {seconds / runs * 1000:6.3f} ms/tick  {timer.calls[statement] / runs:4.1f}x  "
            f"{one_line[:150]}"
        )
    return ranked


def _explain(ranked, timer) -> None:
    dialect = db.engine.dialect.name
    print("EXPLAIN of the costliest statements:")
    for statement, _ in ranked:
        if not statement.lstrip().upper().startswith("SELECT"):
            continue
        prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
        with db.engine.connect() as conn:
            plan = conn.exec_driver_sql(prefix + statement, timer.params[statement]).all()
        print("  " + " ".join(statement.split())[:150])
        for row in plan:
            print("     ", " | ".join(str(v) for v in row))


def _profile(top: int, runs: int = 20) -> None:
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(runs):
        run_tick()
    profile.disable()
    stats = pstats.Stats(profile)
    print(f"cProfile, {runs} ticks: {stats.total_tt / runs * 1000:.1f} ms per tick (profiled)")
    print("  tracker/ functions by cumulative ms per tick (cumulative | own | calls per tick):")
    rows = [
        (cum, own, calls, f"{filename.split('/tracker/')[-1]}:{line}({name})")
        for (filename, line, name), (_c, calls, own, cum, _) in stats.stats.items()
        if "/tracker/" in filename
    ]
    for cum, own, calls, where in sorted(rows, key=lambda r: -r[0])[:top]:
        print(
            f"  {cum / runs * 1000:7.2f} | {own / runs * 1000:6.2f} | {calls / runs:4.1f}  {where}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="future rows per table")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--top", type=int, default=6)
    parser.add_argument("--profile", type=int, default=12, help="0: no cProfile pass")
    parser.add_argument("--database", help="a URL, or 'postgres' for a throwaway cluster")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-idle-"))
    cluster = None
    url = args.database or f"sqlite:///{workdir / 'bench.db'}"
    if args.database == "postgres":
        from tests.support.postgres import PostgresCluster

        cluster = PostgresCluster().start()
        url = cluster.create_database("bench_idle")
    try:
        app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, MAIL_DIR=str(workdir))
        with app.app_context():
            db.create_all()
            started = time.perf_counter()
            _fill(args.rows)
            print(
                f"database: {url.split(':', 1)[0]}; {args.rows:,} future reminders, outbox "
                f"rows and timers each, loaded in {time.perf_counter() - started:.1f} s; "
                f"load {os.getloadavg()}"
            )
            timer = StatementTimer(db.engine)
            floor = _floor(args.runs)
            ranked = _report(
                "as loaded", _ticks(args.runs, timer), floor, timer, args.runs, args.top
            )
            if db.engine.dialect.name == "postgresql":
                with db.engine.connect() as conn:
                    conn.execute(text("ANALYZE"))
                    conn.commit()
                floor = _floor(args.runs)
                ticks = _ticks(args.runs, timer)
                ranked = _report("after ANALYZE", ticks, floor, timer, args.runs, args.top)
            _explain(ranked, timer)
            if args.profile:
                _profile(args.profile)
            print(f"load at the end {os.getloadavg()}")
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
