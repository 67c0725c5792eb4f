"""What the scheduler did, for monitoring: each step's last (clean) run, due backlog, failures.

`record_steps` is the scheduler side's unit of work for the bookkeeping (it commits);
`scheduler_health` is the read behind /healthz (ADR 0130).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, String, Text, bindparam, func, select, text

from tracker.db_setup import UTCDateTime
from tracker.extensions import db
from tracker.models import (
    DeliveryCircuit,
    OutboxEmail,
    Reminder,
    SchedulerStep,
    WebhookDelivery,
    WorkflowTimer,
)


@dataclass(frozen=True)
class StepRun:
    """One step's outcome in a tick: when it ended, how many rows failed, its error."""

    name: str
    at: datetime
    failures: int
    error: str | None


def record_steps(runs: list[StepRun]) -> None:
    """Upsert every step's row in one statement and commit: ran at `at`; a clean run (no
    error, no failed row) also moves `last_success_at`. An idle tick's whole bookkeeping
    is this one write (issue 16: an idle tick under 5 ms)."""
    if not runs:
        return
    values: dict = {}
    for n, run in enumerate(runs):
        clean = run.error is None and run.failures == 0
        values[f"name_{n}"] = run.name
        values[f"run_{n}"] = run.at
        values[f"failures_{n}"] = run.failures
        values[f"error_{n}"] = run.error
        values[f"success_{n}"] = run.at if clean else None
    db.session.execute(_upsert(len(runs)), values)
    db.session.commit()


def _upsert(count: int):
    """INSERT ... ON CONFLICT (name) DO UPDATE of `count` steps' rows in one statement,
    spelt the same on PostgreSQL and SQLite (3.24+); `last_success_at` keeps its old
    value unless the new run was clean.

    Text with typed parameters, one per number of steps (a tick records 7, or 5 and 2
    for the scheduler's two jobs), because SQLAlchemy caches that: the dialects' own
    `insert()` constructs have no cache key (`inherit_cache = False`), so the upsert
    built with them was compiled again on every tick. One multi-row statement rather
    than an executemany: PostgreSQL runs one INSERT instead of seven (ADR 0254)."""
    statement = _upserts.get(count)
    if statement is None:
        rows = ", ".join(
            f"(:name_{n}, :run_{n}, :failures_{n}, :error_{n}, :success_{n})" for n in range(count)
        )
        statement = text(
            "INSERT INTO scheduler_step"
            " (name, last_run_at, last_failures, last_error, last_success_at)"
            f" VALUES {rows}"
            " ON CONFLICT (name) DO UPDATE SET"
            " last_run_at = excluded.last_run_at,"
            " last_failures = excluded.last_failures,"
            " last_error = excluded.last_error,"
            " last_success_at = CASE WHEN excluded.last_error IS NULL"
            " AND excluded.last_failures = 0"
            " THEN excluded.last_success_at ELSE scheduler_step.last_success_at END"
        ).bindparams(
            *(
                parameter
                for n in range(count)
                for parameter in (
                    bindparam(f"name_{n}", type_=String()),
                    bindparam(f"run_{n}", type_=UTCDateTime()),
                    bindparam(f"failures_{n}", type_=Integer()),
                    bindparam(f"error_{n}", type_=Text()),
                    bindparam(f"success_{n}", type_=UTCDateTime()),
                )
            )
        )
        _upserts[count] = statement
    return statement


_upserts: dict[int, object] = {}


@dataclass(frozen=True)
class SchedulerHealth:
    steps: dict[str, dict]
    oldest_due_seconds: float | None
    failed: dict[str, int]
    circuits: dict[str, dict]


def _due_queries(now: datetime):
    return (
        select(func.min(OutboxEmail.next_attempt_at)).where(
            OutboxEmail.status == "pending", OutboxEmail.next_attempt_at <= now
        ),
        select(func.min(Reminder.due_at)).where(
            Reminder.status == "pending", Reminder.due_at <= now
        ),
        select(func.min(WorkflowTimer.due_at)).where(
            WorkflowTimer.status == "pending", WorkflowTimer.due_at <= now
        ),
        select(func.min(WebhookDelivery.next_attempt_at)).where(
            WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now
        ),
    )


def _aware(value):
    from datetime import UTC

    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def scheduler_health(now: datetime) -> SchedulerHealth:
    """Last run / last success per step, the oldest due row's age, failed rows per kind."""
    steps = {
        row.name: {
            "last_run_at": row.last_run_at.isoformat(),
            "last_success_at": row.last_success_at.isoformat() if row.last_success_at else None,
            "last_failures": row.last_failures,
            "last_error": row.last_error,
        }
        for row in db.session.scalars(select(SchedulerStep).order_by(SchedulerStep.name))
    }
    oldest = [_aware(db.session.scalar(q)) for q in _due_queries(now)]
    oldest = [value for value in oldest if value is not None]
    age = round((now - min(oldest)).total_seconds(), 1) if oldest else None
    failed = {
        "outbox": _count(OutboxEmail, OutboxEmail.status == "failed"),
        "timers": _count(WorkflowTimer, WorkflowTimer.status == "failed"),
        "webhooks": _count(WebhookDelivery, WebhookDelivery.status == "failed"),
    }
    return SchedulerHealth(
        steps=steps, oldest_due_seconds=age, failed=failed, circuits=delivery_circuits()
    )


def delivery_circuits() -> dict[str, dict]:
    """Each delivery breaker on record (ADR 0204): until when it rests, how many trips in a
    row, and what happened, in words. A breaker past its time waits for its probe."""
    return {
        row.name: {
            "open_until": _aware(row.open_until).isoformat(),
            "trips": row.trips,
            "reason": row.reason,
        }
        for row in db.session.scalars(select(DeliveryCircuit).order_by(DeliveryCircuit.name))
    }


def _count(model, condition) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(condition)) or 0
