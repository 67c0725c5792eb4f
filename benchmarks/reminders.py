"""Benchmark: N due reminders planned, processed and delivered to a local SMTP server (aiosmtpd),
and the cost of an idle tick with many future rows (with the query plan, to show the index).

    .venv/bin/python benchmarks/reminders.py [--count 10000] [--idle-rows 100000]
        [--database URL|postgres] [--no-ceiling] [--server lean|stock|parsing]
        [--connections 1,2 [--rounds N]] [--collector flask|default]

Without --database a fresh SQLite file in a temporary directory is used; pass a
postgresql:// URL (an empty database), or `postgres` for a throwaway cluster, to measure
PostgreSQL. The end-to-end rate is printed beside the ceiling of the same SMTP server,
measured just before and just after: a bare smtplib loop, and the wire alone, each with
the server's CPU per message. The server (benchmarks/smtp_process.py) runs in its own
process and keeps each message's Message-ID only; after the run every sent outbox row's
Message-ID must have been accepted exactly once, or the benchmark fails. `--connections
1,2 --rounds 3` runs the end to end with one, then two SMTP connections (MAIL_CONNECTIONS,
ADR 0248), three times over, interleaved. The process's garbage collector is set up as
wsgi.py sets it in every `flask` process, the scheduler's included (ADR 0252);
`--collector default` measures with Python's defaults, as until stop 31.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

# Import the app from the repository root.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from sqlalchemy import func, insert, select, text  # noqa: E402

from benchmarks.smtp_process import SmtpProcess  # noqa: E402
from config import TestingConfig  # noqa: E402
from tracker import create_app  # noqa: E402
from tracker.core import clock  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.models import ChecklistItem, Engagement, OutboxEmail, Reminder  # noqa: E402
from tracker.notifications import delivery  # noqa: E402
from tracker.scheduling.claims import _claimable  # noqa: E402
from tracker.scheduling.tick import run_tick  # noqa: E402
from tracker.services.workflow import reminder_planning as planning  # noqa: E402

# What wsgi.py does to the collector once the app is built (ADR 0252). `flask scheduler
# tick` and `flask scheduler run` load the app through wsgi.py (FLASK_APP=wsgi), so the
# scheduler runs with these settings; tests/benchmarks/test_reminders.py keeps the two equal.
FLASK_PROCESS_THRESHOLD = (10_000, 20, 20)


def _setup(url: str, smtp, mail_dir: str, collector: str = "flask"):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, MAIL_DIR=mail_dir, **smtp.config)
    with app.app_context():
        import tracker.models  # noqa: F401

        db.create_all()
    if collector == "flask":  # as the scheduler process has it (wsgi.py)
        gc.collect()
        gc.freeze()
        gc.set_threshold(*FLASK_PROCESS_THRESHOLD)
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


def bench_delivery(
    app, count: int, smtp: SmtpProcess, ceiling: bool = True, connections=(None,), rounds: int = 1
) -> dict:
    """Due reminders → messages accepted by the server, end to end, beside the loopback
    ceiling measured on the same server just before and just after (issue 29: >= 500
    messages/s and >= 60% of that ceiling). Each figure with the server's own CPU per
    message (from /proc), and every reminder message checked accepted exactly once.

    `connections` lists MAIL_CONNECTIONS values (ADR 0248) to run in turn, `rounds` times,
    interleaved, so that each is measured beside the others in the same moments; None
    is the app's own setting. Returns each value's rates."""
    ceilings = [_ceilings(smtp, count)] if ceiling else []
    rates: dict = {}
    for _ in range(rounds):
        for each in connections:
            if each is not None:
                app.config["MAIL_CONNECTIONS"] = each
            with app.app_context():
                used = delivery._connections(app.config)
            rates.setdefault(used, []).append(_end_to_end(app, count, smtp, used))
    if ceiling:
        ceilings.append(_ceilings(smtp, count))
        bare = sum(c[0] for c in ceilings) / len(ceilings)
        wire = sum(c[1] for c in ceilings) / len(ceilings)
        print(
            f"ceiling, same server ({smtp.kind}), before/after: bare smtplib loop "
            f"{' / '.join(f'{c[0]:,.0f}' for c in ceilings)} msg/s (mean {bare:,.0f}); "
            f"pre-built bytes {' / '.join(f'{c[1]:,.0f}' for c in ceilings)} (mean {wire:,.0f})"
        )
        print(
            "   server CPU per message, bare loop / pre-built: "
            + ", ".join(f"{c[2] * 1e6:,.0f} / {c[3] * 1e6:,.0f} µs" for c in ceilings)
        )
        for used, each in rates.items():
            rate = sum(each) / len(each)
            print(
                f"=> {used} connection(s): end to end {rate:,.0f} msg/s (mean of {len(each)}) "
                f"is {rate / bare:.0%} of the bare loop and {rate / wire:.0%} of the pre-built "
                f"wire; target >= 500 msg/s and >= 60% of the ceiling"
            )
    return rates


def _database_cpu(app) -> float | None:
    """CPU seconds the local PostgreSQL server has used so far: its postmaster's children
    (the backends, autovacuum, the writers) from /proc, plus what exited ones left in the
    postmaster's cutime/cstime. None on SQLite (it runs in this process) or where the
    server is not readable here."""
    import os

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return None
        try:
            directory = db.session.scalar(text("SHOW data_directory"))
            db.session.rollback()
            with open(f"{directory}/postmaster.pid") as pid_file:
                postmaster = pid_file.readline().strip()
        except Exception:
            db.session.rollback()
            return None

    def fields(pid: str) -> list[str]:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()

    try:
        own = fields(postmaster)
    except OSError:
        return None
    ticks = sum(int(value) for value in own[11:15])  # utime stime cutime cstime
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                child = fields(pid)
            except OSError:
                continue  # exited meanwhile
            if child[1] == postmaster:
                ticks += int(child[11]) + int(child[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _end_to_end(app, count: int, smtp: SmtpProcess, used: int) -> float:
    """One run: `count` fresh due reminders through one scheduler tick (the steps `flask
    scheduler tick` runs); fails unless every row it sent was accepted exactly once."""
    smtp.clear()
    with app.app_context():
        before = db.session.scalar(select(func.coalesce(func.max(OutboxEmail.id), 0)))
        _, plan_seconds = _due_checklist_reminders(count)
        due = db.session.scalar(
            select(func.count(Reminder.id)).where(
                Reminder.due_at <= clock.now(), Reminder.status == "pending"
            )
        )
        print(f"planned {due} due reminders in {plan_seconds:.2f} s")
        server_cpu, cpu, database_cpu = smtp.cpu(), time.process_time(), _database_cpu(app)
        started = time.perf_counter()
        results = run_tick()
        seconds = time.perf_counter() - started
        cpu, server_cpu = time.process_time() - cpu, smtp.cpu() - server_cpu
        if database_cpu is not None:
            database_cpu = _database_cpu(app) - database_cpu
        sent_ids = set(
            db.session.scalars(
                select(OutboxEmail.message_id).where(
                    OutboxEmail.status == "sent", OutboxEmail.id > before
                )
            )
        )
    accepted = [mid for mid, _ in smtp.accepted()]
    sent = len(sent_ids)
    print(f"tick ({used} SMTP connection(s)): {results} in {seconds:.2f} s")
    print(
        f"server accepted {len(accepted)} messages, {len(set(accepted))} distinct Message-IDs, "
        f"{'all' if set(accepted) == sent_ids else 'NOT all'} of them the {sent} rows sent"
    )
    if len(accepted) != sent or set(accepted) != sent_ids or sent != count:
        raise SystemExit("the server did not accept every sent reminder exactly once")
    rate = sent / seconds
    print(
        f"=> {rate:,.0f} reminders->messages/s end to end (process + render + SMTP); "
        f"CPU per message: this process {cpu / sent * 1e6:,.0f} µs, "
        f"the server {server_cpu / sent * 1e6:,.0f} µs"
        + (f", PostgreSQL {database_cpu / sent * 1e6:,.0f} µs" if database_cpu is not None else "")
    )
    return rate


def _ceilings(smtp: SmtpProcess, count: int) -> tuple[float, float, float, float]:
    """(bare smtplib loop building each message, the same messages pre-built as bytes) in
    messages/s over one loopback connection, as benchmarks/delivery.py measures them,
    then the server's CPU seconds per message during each."""
    from benchmarks.delivery import _ceiling, _wire_ceiling

    host, port = smtp.config["SMTP_HOST"], int(smtp.config["SMTP_PORT"])
    before = smtp.cpu()
    bare = _ceiling(host, port, count)
    middle = smtp.cpu()
    wire = _wire_ceiling(host, port, count)
    return bare, wire, (middle - before) / count, (smtp.cpu() - middle) / count


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
        database_cpu = _database_cpu(app)
        runs, cpu, started = 20, time.process_time(), time.perf_counter()
        for _ in range(runs):
            run_tick()
        per_tick = (time.perf_counter() - started) / runs
        cpu = (time.process_time() - cpu) / runs
        if database_cpu is not None:
            database_cpu = (_database_cpu(app) - database_cpu) / runs
    print(
        f"idle tick with {rows:,} pending future reminders: {per_tick * 1000:.1f} ms "
        f"(CPU: this process {cpu * 1000:.2f} ms"
        + (f", PostgreSQL {database_cpu * 1000:.2f} ms" if database_cpu is not None else "")
        + ")"
    )


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
    parser.add_argument(
        "--connections",
        default="",
        help="comma-separated MAIL_CONNECTIONS values to run in turn (ADR 0248), e.g. 1,2; "
        "default: the app's setting",
    )
    parser.add_argument("--rounds", type=int, default=1, help="rounds of --connections")
    parser.add_argument(
        "--collector",
        choices=("flask", "default"),
        default="flask",
        help="'flask': the garbage collector set up as wsgi.py sets it in the scheduler "
        "process (ADR 0252; the default since stop 32); 'default': Python's own settings, "
        "as this benchmark ran until stop 31",
    )
    parser.add_argument(
        "--server",
        choices=SmtpProcess.KINDS,
        default="lean",
        help="the SMTP server's kind (benchmarks/smtp_process.py); 'parsing' is this "
        "benchmark's server until stop 29",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-reminders-"))
    cluster = None
    if args.database == "postgres":
        from tests.support.postgres import PostgresCluster

        cluster = PostgresCluster().start()
        args.database = cluster.create_database("bench_reminders")
    url = args.database or f"sqlite:///{workdir / 'bench.db'}"
    smtp = SmtpProcess(args.server)
    try:
        app = _setup(url, smtp, str(workdir / "mail"), args.collector)
        print(
            f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}; "
            f"collector: {args.collector} {gc.get_threshold()}, {gc.get_freeze_count():,} frozen"
        )
        connections = [int(c) for c in args.connections.split(",") if c] or [None]
        bench_delivery(app, args.count, smtp, not args.no_ceiling, connections, args.rounds)
        smtp.stop()
        bench_idle(app, args.idle_rows)
    finally:
        if smtp.proc.poll() is None:
            smtp.stop()
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
