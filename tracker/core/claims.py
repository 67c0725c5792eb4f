"""Claiming due rows (timers, reminders, outbox emails) so that each is worked on once.

A claim sets `lease_until` and `claimed_by` on up to `limit` due rows whose lease is
free or expired. PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED, so concurrent
schedulers take disjoint rows without waiting. SQLite ignores FOR UPDATE, so there the
claim runs inside BEGIN IMMEDIATE (one writer at a time) and the UPDATE repeats the
conditions. A worker that dies keeps its rows only until the lease runs out.

`drain` is the loop every scheduler step that works on due rows runs (timers,
reminders, outbox delivery): claim a batch, handle each row in its own transaction,
repeat until a batch comes back short. It is the scheduler side's unit of work: the
handler changes the session (rolling back what it must not keep) and `drain` commits
after each row, so one row's failure never undoes another's work.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from tracker.extensions import db

DEFAULT_LEASE = timedelta(minutes=5)


def worker_id() -> str:
    """Who is claiming: host, process and thread (stored in `claimed_by`)."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:100]


def _claimable(model, due_column, now: datetime):
    return (
        model.status == "pending",
        due_column <= now,
        or_(model.lease_until.is_(None), model.lease_until < now),
    )


def claim(
    model, due_column, now: datetime, *, limit: int = 100, lease: timedelta = DEFAULT_LEASE
) -> tuple[str, list[int]]:
    """Lease up to `limit` due rows of `model` to this worker; returns (worker, ids)."""
    worker = worker_id()
    conditions = _claimable(model, due_column, now)
    query = select(model.id).where(*conditions).order_by(due_column, model.id).limit(limit)
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            query = query.with_for_update(skip_locked=True)
        ids = list(conn.execute(query).scalars())
        if ids:
            conn.execute(
                update(model)
                .where(model.id.in_(ids), *conditions)
                .values(lease_until=now + lease, claimed_by=worker)
            )
        conn.commit()
    return worker, ids


def drain(
    model,
    due_column,
    now: datetime,
    handle: Callable[[int, str], int],
    *,
    limit: int = 100,
    lease: timedelta = DEFAULT_LEASE,
) -> int:
    """Claim due rows batch by batch, `handle(row_id, worker)` each, commit after each one.

    Returns the sum of what the handler returned (e.g. how many were sent). An idle
    drain is one indexed query. An exception from the handler is not caught here: the
    row's changes are not committed and the caller (the scheduler tick) reports it.
    """
    done = 0
    while True:
        worker, ids = claim(model, due_column, now, limit=limit, lease=lease)
        for row_id in ids:
            done += handle(row_id, worker)
            db.session.commit()
        if len(ids) < limit:
            return done
