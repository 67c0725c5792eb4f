"""Benchmark: planning, re-planning and materialising 10,000 reminders, beside bare floors.

    .venv/bin/python benchmarks/reminder_planning.py [--count 10000] [--database URL]

No SMTP: this measures the database side of the scheduler (issue 16). In one run:
- plan: `plan_reminders` for one engagement with `count` overdue checklist items
  (one due reminder row each), beside the floor: the same rows written by a bare
  Core executemany INSERT;
- re-plan: every item's due date moved, then `plan_reminders` again (cancels the
  `count` pending rows and plans `count` new ones);
- materialise: `process_due` turns the `count` due reminders into outbox emails
  (claim, judge, render text + HTML, bulk INSERT, mark), beside the floor: the same
  number of outbox rows with pre-rendered bodies written by a bare Core executemany INSERT.

Without --database a fresh SQLite file in a temporary directory is used; pass a
postgresql:// URL (an empty database) to measure PostgreSQL.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

from sqlalchemy import delete, event, func, insert, select, update  # noqa: E402

from config import TestingConfig  # noqa: E402
from tracker import create_app  # noqa: E402
from tracker.core import clock  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.models import ChecklistItem, Engagement, OutboxEmail, Reminder  # noqa: E402
from tracker.notifications.reminder_delivery import process_due  # noqa: E402
from tracker.services.workflow import reminder_planning as planning  # noqa: E402


class Statements:
    def __init__(self):
        self.count = 0

    def __call__(self, *args):
        self.count += 1


def _engagement() -> Engagement:
    from tests import factories

    owner = factories.make_user("manager")
    engagement = factories.make_engagement(owner)
    today = clock.now().date()
    engagement.state, engagement.trial_start = "trial", today - timedelta(days=40)
    engagement.trial_end = engagement.period_end = today + timedelta(days=50)
    db.session.commit()
    return engagement


def _items(engagement: Engagement, count: int) -> None:
    due = clock.now().date() - timedelta(days=2)
    now = clock.now()
    rows = [
        dict(
            engagement_id=engagement.id,
            kind="placement",
            title=f"Item {n}",
            status="open",
            owner_id=engagement.owner_id,
            due_date=due,
            position=n,
            note="",
            created_at=now,
            updated_at=now,
        )
        for n in range(count)
    ]
    for part in planning.chunks(rows, per_item=len(rows[0])):
        db.session.execute(insert(ChecklistItem), part)
    db.session.commit()


def _timed(fn, statements: Statements):
    before = statements.count
    started = time.perf_counter()
    result = fn()
    db.session.commit()
    return result, time.perf_counter() - started, statements.count - before


def _floor_reminders(engagement_id: int, count: int) -> float:
    """The same number of reminder rows, written by a bare Core INSERT executemany (then
    removed): no ON CONFLICT, no planning."""
    now = clock.now()
    rows = [
        planning._row("floor", engagement_id, "checklist", n, now + timedelta(days=1), now)
        for n in range(count)
    ]
    started = time.perf_counter()
    db.session.execute(insert(Reminder.__table__), rows)
    db.session.commit()
    seconds = time.perf_counter() - started
    db.session.execute(delete(Reminder).where(Reminder.rule == "floor"))
    db.session.commit()
    return seconds


def _floor_outbox(count: int) -> float:
    """`count` outbox rows with bodies of the real size, by a bare Core INSERT executemany."""
    sample = db.session.scalars(select(OutboxEmail).limit(1)).one()
    now = clock.now()
    rows = [
        dict(
            key=f"floor:{n}",
            message_id=f"<floor{n}@x>",
            to_address=sample.to_address,
            to_user_id=sample.to_user_id,
            subject=sample.subject,
            text_body=sample.text_body,
            html_body=sample.html_body,
            headers=sample.headers,
            category="floor",
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for n in range(count)
    ]
    started = time.perf_counter()
    db.session.execute(insert(OutboxEmail.__table__), rows)
    db.session.commit()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--database", help="SQLAlchemy URL of an empty database")
    parser.add_argument(
        "--postgres", action="store_true", help="a throwaway PostgreSQL cluster (tests/support)"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-planning-"))
    url = args.database or f"sqlite:///{workdir / 'bench.db'}"
    cluster = None
    if args.postgres:
        from tests.support.postgres import PostgresCluster

        cluster = PostgresCluster().start()
        url = cluster.create_database("bench")
    try:
        _run(url, args.count, workdir)
    finally:
        if cluster is not None:
            cluster.stop()


def _run(url: str, count: int, workdir: Path) -> None:
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, MAIL_DIR=str(workdir / "mail"))
    with app.app_context():
        import tracker.models  # noqa: F401

        db.create_all()
        statements = Statements()
        event.listen(db.engine, "before_cursor_execute", statements)
        print(f"database: {db.engine.url.render_as_string(hide_password=True).split('@')[-1]}")
        engagement = _engagement()
        engagement_id = engagement.id
        _items(engagement, count)
        n = count

        planned, plan_s, plan_q = _timed(lambda: planning.plan_reminders(engagement_id), statements)
        floor_plan_s = _floor_reminders(engagement_id, n)

        db.session.execute(
            update(ChecklistItem)
            .where(ChecklistItem.engagement_id == engagement_id)
            .values(due_date=clock.now().date() - timedelta(days=1))
        )
        db.session.commit()
        replanned, replan_s, replan_q = _timed(
            lambda: planning.plan_reminders(engagement_id), statements
        )
        cancelled = db.session.scalar(select(func.count()).where(Reminder.status == "cancelled"))
        clock_now = clock.now() + timedelta(days=1)  # the re-planned rows are due too
        due = db.session.scalar(
            select(func.count()).where(Reminder.status == "pending", Reminder.due_at <= clock_now)
        )
        sent, mat_s, mat_q = _timed(lambda: process_due(clock_now), statements)
        emails = db.session.scalar(select(func.count()).select_from(OutboxEmail))
        floor_mat_s = _floor_outbox(emails)

    print(
        f"| plan {planned:,} rows (`plan_reminders`, one call) | {plan_s:.2f} s | "
        f"{planned / plan_s:,.0f} rows/s | {plan_q} statements |"
    )
    print(
        f"| floor: {n:,} reminder rows, bare INSERT executemany | {floor_plan_s:.2f} s | "
        f"{n / floor_plan_s:,.0f} rows/s | |"
    )
    print(
        f"| re-plan: {cancelled:,} pending cancelled, {replanned:,} planned | {replan_s:.2f} s | "
        f"{(cancelled + replanned) / replan_s:,.0f} rows/s | {replan_q} statements |"
    )
    print(
        f"| materialise {due:,} due reminders → {emails:,} outbox emails ({sent:,} sent) | "
        f"{mat_s:.2f} s | {due / mat_s:,.0f} rows/s | {mat_q} statements |"
    )
    print(
        f"| floor: {emails:,} outbox rows, bare INSERT executemany | {floor_mat_s:.2f} s | "
        f"{emails / floor_mat_s:,.0f} rows/s | |"
    )


if __name__ == "__main__":
    main()
