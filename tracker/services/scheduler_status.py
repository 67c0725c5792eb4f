"""What the scheduler did, for monitoring: each step's last (clean) run, due backlog, failures.

`record_step` is the scheduler side's unit of work for the bookkeeping (it commits);
`scheduler_health` is the read behind /healthz (ADR 0130).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import OutboxEmail, Reminder, SchedulerStep, WebhookDelivery, WorkflowTimer


def record_step(name: str, now: datetime, *, failures: int, error: str | None) -> None:
    """Upsert the step's row: ran at `now`; clean (no error, no failed row) moves success."""
    row = db.session.get(SchedulerStep, name)
    if row is None:
        row = SchedulerStep(name=name, last_run_at=now, last_failures=0)
        db.session.add(row)
    row.last_run_at, row.last_failures, row.last_error = now, failures, error
    if error is None and failures == 0:
        row.last_success_at = now
    db.session.commit()


@dataclass(frozen=True)
class SchedulerHealth:
    steps: dict[str, dict]
    oldest_due_seconds: float | None
    failed: dict[str, int]


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
    return SchedulerHealth(steps=steps, oldest_due_seconds=age, failed=failed)


def _count(model, condition) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(condition)) or 0
