"""Benchmark: N due reminders planned, processed and delivered to a local SMTP server (aiosmtpd),
and the cost of an idle tick with many future rows (with the query plan, to show the index).

    .venv/bin/python benchmarks/reminders.py [--count 10000] [--idle-rows 100000]
        [--database URL|postgres] [--no-ceiling]

Without --database a fresh SQLite file in a temporary directory is used; pass a
postgresql:// URL (an empty database), or `postgres` for a throwaway cluster, to measure
PostgreSQL. The end-to-end rate is printed beside the ceiling of the same SMTP server,
measured just before and just after: a bare smtplib loop, and the wire alone.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

# Import the app from the repository root.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from sqlalchemy import func, insert, select, text  # noqa: E402

from config import TestingConfig  # noqa: E402
from tracker import create_app  # noqa: E402
from tracker.core import clock  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.models import ChecklistItem, Engagement, OutboxEmail, Reminder  # noqa: E402
from tracker.scheduling.claims import _claimable  # noqa: E402
from tracker.scheduling.tick import run_tick  # noqa: E402
from tracker.services.workflow import reminder_planning as planning  # noqa: E402  # noqa: E402

# The SMTP server runs in its own process: in-process, its thread competes for the GIL.
SERVER = """
import json, signal, sys, threading
sys.path[0] = {root!r}
from tests.support.smtp import SmtpServer
server = SmtpServer().start()
print(json.dumps(server.config()), flush=True)
done = threading.Event()
signal.signal(signal.SIGTERM, lambda *a: done.set())
done.wait()
ids = server.message_ids()
server.stop()
print(json.dumps({{"received": len(ids), "unique": len(set(ids))}}), flush=True)
"""


class SmtpProcess:
    """aiosmtpd in a child process; `stop()` returns what it received."""

    def __init__(self):
        root = str(Path(__file__).resolve().parents[1])
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER.format(root=root)], stdout=subprocess.PIPE, text=True
        )
        self.config = json.loads(self.proc.stdout.readline())

    def stop(self) -> dict:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=60)
        return json.loads(out.strip().splitlines()[-1])


def _setup(url: str, smtp: SmtpProcess, mail_dir: str):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, MAIL_DIR=mail_dir, **smtp.config)
    with app.app_context():
        import tracker.models  # noqa: F401

        db.create_all()
    return app


def _engagement() -> Engagement:
    from tests import factories

    owner = factories.make_user("manager")
    engagement = factories.make_engagement(owner)
    today = clock.now().date()
    engagement.state, engagement.trial_start = "trial", today - timedelta(days=40)
    engagement.trial_end = engagement.period_end = today + timedelta(days=50)
    db.session.commit()
    return engagement


def _due_checklist_reminders(count: int, engagements: int = 1) -> tuple[int, float]:
    """`count` overdue checklist items (one due reminder each, to the item owner), spread
    round-robin over `engagements` engagements; returns the first one's id and the time
    planning took."""
    owners = [_engagement() for _ in range(engagements)]
    engagement = owners[0]
    due = clock.now().date() - timedelta(days=2)
    rows = [
        dict(
            engagement_id=owners[n % engagements].id,
            kind="placement",
            title=f"Item {n}",
            status="open",
            owner_id=owners[n % engagements].owner_id,
            due_date=due,
            position=n,
            note="",
            created_at=clock.now(),
            updated_at=clock.now(),
        )
        for n in range(count)
    ]
    db.session.execute(insert(ChecklistItem), rows)
    started = time.perf_counter()
    for each in owners:
        planning.plan_reminders(each.id)
    db.session.commit()
    return engagement.id, time.perf_counter() - started


def bench_delivery(app, count: int, smtp_config: dict | None = None) -> float:
    """Due reminders → messages accepted by the server, end to end, beside the bare
    loopback ceiling measured on the same server just before and just after (issue 29:
    >= 500 messages/s and >= 60% of that ceiling)."""
    ceilings = []
    if smtp_config:
        ceilings.append(_ceilings(smtp_config, count))
    with app.app_context():
        _, plan_seconds = _due_checklist_reminders(count)
        due = db.session.scalar(
            select(func.count(Reminder.id)).where(Reminder.due_at <= clock.now())
        )
        print(f"planned {due} due reminders in {plan_seconds:.2f} s")
        started = time.perf_counter()
        results = run_tick()
        seconds = time.perf_counter() - started
        sent = db.session.scalar(select(func.count()).where(OutboxEmail.status == "sent"))
    print(f"tick: {results} in {seconds:.1f} s")
    rate = sent / seconds
    print(f"=> {rate:,.0f} reminders->messages/s end to end (process + render + SMTP)")
    if smtp_config:
        ceilings.append(_ceilings(smtp_config, count))
        bare = sum(c[0] for c in ceilings) / len(ceilings)
        wire = sum(c[1] for c in ceilings) / len(ceilings)
        print(
            f"ceiling, same server, before/after: bare smtplib loop "
            f"{' / '.join(f'{c[0]:,.0f}' for c in ceilings)} msg/s (mean {bare:,.0f}); "
            f"pre-built bytes {' / '.join(f'{c[1]:,.0f}' for c in ceilings)} (mean {wire:,.0f})"
        )
        print(
            f"=> end to end is {rate / bare:.0%} of the bare loop and {rate / wire:.0%} of the "
            f"pre-built wire; target >= 500 msg/s and >= 60% of the ceiling"
        )
    return seconds


def _ceilings(smtp_config: dict, count: int) -> tuple[float, float]:
    """(bare smtplib loop building each message, the same messages pre-built as bytes),
    messages/s over one loopback connection, as benchmarks/delivery.py measures them."""
    from benchmarks.delivery import _ceiling, _wire_ceiling

    host, port = smtp_config["SMTP_HOST"], int(smtp_config["SMTP_PORT"])
    return _ceiling(host, port, count), _wire_ceiling(host, port, count)


def bench_idle(app, rows: int) -> None:
    with app.app_context():
        engagement_id = db.session.scalar(select(Engagement.id))
        future = clock.now() + timedelta(days=30)
        batch = [
            dict(
                key=f"bench:{n}",
                rule="milestone_due_soon",
                engagement_id=engagement_id,
                subject_type="milestone",
                subject_id=n,
                due_at=future + timedelta(minutes=n),
                status="pending",
                created_at=clock.now(),
            )
            for n in range(rows)
        ]
        db.session.execute(insert(Reminder), batch)
        db.session.commit()
        _explain(clock.now())
        run_tick()
        runs, started = 20, time.perf_counter()
        for _ in range(runs):
            run_tick()
        per_tick = (time.perf_counter() - started) / runs
    print(f"idle tick with {rows:,} pending future reminders: {per_tick * 1000:.1f} ms")


def _explain(now) -> None:
    query = select(Reminder.id).where(*_claimable(Reminder, Reminder.due_at, now))
    query = query.order_by(Reminder.due_at, Reminder.id).limit(200)
    dialect = db.engine.dialect
    sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    prefix = "EXPLAIN QUERY PLAN " if dialect.name == "sqlite" else "EXPLAIN "
    print("claim query plan:")
    for row in db.session.execute(text(prefix + sql)):
        print("   ", " | ".join(str(v) for v in row))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--idle-rows", type=int, default=100_000)
    parser.add_argument(
        "--database", help="URL of an empty database, or 'postgres' for a throwaway cluster"
    )
    parser.add_argument("--no-ceiling", action="store_true", help="skip the SMTP ceilings")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-reminders-"))
    cluster = None
    if args.database == "postgres":
        from tests.support.postgres import PostgresCluster

        cluster = PostgresCluster().start()
        args.database = cluster.create_database("bench_reminders")
    url = args.database or f"sqlite:///{workdir / 'bench.db'}"
    smtp = SmtpProcess()
    try:
        app = _setup(url, smtp, str(workdir / "mail"))
        print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}")
        bench_delivery(app, args.count, None if args.no_ceiling else smtp.config)
        print(f"SMTP server (reminders, and the ceilings' messages): {smtp.stop()}")
        bench_idle(app, args.idle_rows)
    finally:
        if smtp.proc.poll() is None:
            smtp.stop()
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
