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

`drain_batches` is the batched form (outbox delivery, ADR 0160): the handler gets the
whole claimed batch and records its outcomes with one commit. `Heartbeat` keeps the
batch's lease alive from a background thread while the handler talks to the network
(ADR 0163), calling `renew` (a conditional UPDATE on `claimed_by`, so a row whose lease
was lost is never renewed back); `release` gives unstarted rows back at once on a clean
stop. `stopping` is
set by the scheduler process on SIGTERM: batch loops finish the row in flight, record
what they did, release the rest and claim nothing more.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from tracker.core import clock
from tracker.extensions import db

log = logging.getLogger(__name__)
DEFAULT_LEASE = timedelta(minutes=5)
stopping = threading.Event()  # set on SIGTERM (tracker/scheduling/trigger.py); cleared by tests


def step_lease() -> timedelta:
    """The lease of rows a tick step claims (timers, reminders): SCHEDULER_LEASE_SECONDS,
    at least 2 s. Renewed while the step works on them (ADR 0208), so it need not cover
    a long batch: it bounds how long a killed worker's rows wait."""
    from flask import current_app

    seconds = current_app.config.get("SCHEDULER_LEASE_SECONDS") or 10
    return timedelta(seconds=max(float(seconds), 2.0))


def worker_id() -> str:
    """Who is claiming: host, process and thread (stored in `claimed_by`)."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:100]


def _claimable(model, due_column, now: datetime, leases_at=None):
    """Due as of `now`; the lease judged against the real time, which a long drain's `now`
    (the moment it started) falls behind: a dead worker's lease that ran out during the
    drain must be claimable by it at once, not only at the next drain. (`leases_at`
    gives that time instead, e.g. as a bound parameter.)"""
    if leases_at is None:
        leases_at = max(now, clock.now())
    return (
        model.status == "pending",
        due_column <= now,
        or_(model.lease_until.is_(None), model.lease_until < leases_at),
    )


def pending(model, due_column, now):
    """SQL truth value: `model` has a row `claim` would take at `now` (a datetime or a
    bound parameter).

    Written as "the first due row, in due order, exists" rather than EXISTS: PostgreSQL
    plans a prepared statement generically after five runs, and for a bare EXISTS the
    generic plan scans the whole table hoping for an early match (67 ms over 100,000
    future rows); in due order it walks the (status, due) index as the claim does.
    """
    first = (
        select(model.id)
        .where(*_claimable(model, due_column, now, leases_at=now))
        .order_by(due_column)
        .limit(1)
    )
    return first.scalar_subquery().is_not(None)


def claim(
    model, due_column, now: datetime, *, limit: int = 100, lease: timedelta = DEFAULT_LEASE
) -> tuple[str, list[int]]:
    """Lease up to `limit` due rows of `model` to this worker; returns (worker, ids)."""
    worker = worker_id()
    conditions = _claimable(model, due_column, now)
    # The lease runs from the moment of the claim: a long drain passes the `now` it
    # started with, which by its second batch may be well in the past.
    leased_until = max(now, clock.now()) + lease
    query = select(model.id).where(*conditions).order_by(due_column, model.id).limit(limit)
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            # Look before taking the write lock: an idle claim is one read (in WAL mode it
            # waits for no writer) and never queues behind another scheduler's write.
            if not conn.execute(query.limit(1)).first():
                conn.rollback()
                return worker, []
            conn.rollback()
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            query = query.with_for_update(skip_locked=True)
        ids = list(conn.execute(query).scalars())
        if ids:
            conn.execute(
                update(model)
                .where(model.id.in_(ids), *conditions)
                .values(lease_until=leased_until, claimed_by=worker)
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
    Between rows the batch's lease is renewed once a third of it has passed (`Keeper`),
    so a short lease fits a long batch and a killed worker's rows wait one short lease.
    """
    done = 0
    while True:
        worker, ids = claim(model, due_column, now, limit=limit, lease=lease)
        keeper = Keeper(model, ids, worker, lease)
        for row_id in ids:
            if not keeper.keep(row_id):
                continue  # taken over by another worker after our lease ran out
            done += handle(row_id, worker)
            db.session.commit()
            keeper.done(row_id)
        if len(ids) < limit:
            return done


class Keeper:
    """Renews a claimed batch's lease between rows, on the worker's own thread (for steps
    whose rows are short database work: timers, reminders one by one; ADR 0208)."""

    def __init__(self, model, ids, worker: str, lease: timedelta):
        self.model, self.worker, self.lease = model, worker, lease
        self.held = set(ids)
        self.renewed_at = time.monotonic()

    def keep(self, row_id: int) -> bool:
        """Whether the row is still ours (renewing the rest first if a third has passed)."""
        if time.monotonic() - self.renewed_at >= self.lease.total_seconds() / 3:
            self.renewed_at = time.monotonic()
            self.held = renew(self.model, self.held, self.worker, clock.now() + self.lease)
        return row_id in self.held

    def done(self, row_id: int) -> None:
        self.held.discard(row_id)


def renew(model, ids, worker: str, until: datetime, *, engine=None) -> set[int]:
    """Extend the lease of those `ids` still claimed by `worker`; returns the ids renewed.

    Runs and commits on its own connection, so it never touches the caller's session
    (`engine` lets a thread without an app context call it).
    """
    if not ids:
        return set()
    with (engine or db.engine).connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        kept = set(
            conn.execute(
                update(model)
                .where(model.id.in_(ids), model.claimed_by == worker, model.status == "pending")
                .values(lease_until=until)
                .returning(model.id)
            ).scalars()
        )
        conn.commit()
    return kept


def release(model, ids: list[int], worker: str) -> None:
    """Give rows back at once (a clean stop before they were worked on)."""
    if not ids:
        return
    with db.engine.connect() as conn:
        conn.execute(
            update(model)
            .where(model.id.in_(ids), model.claimed_by == worker, model.status == "pending")
            .values(lease_until=None, claimed_by=None)
        )
        conn.commit()


def drain_batches(
    model,
    due_column,
    now: datetime,
    handle_batch: Callable[[list[int], str], int],
    *,
    limit: int = 100,
    lease: timedelta = DEFAULT_LEASE,
) -> int:
    """Claim due rows batch by batch and pass each whole batch to `handle_batch(ids, worker)`.

    The handler records the batch's outcomes and commits them itself (one commit per
    batch), renewing the lease with `renew` while it works. Stops early when `stopping`
    is set. Returns the sum of what the handler returned.
    """
    done = 0
    while not stopping.is_set():
        worker, ids = claim(model, due_column, now, limit=limit, lease=lease)
        if ids:
            done += handle_batch(ids, worker)
        if len(ids) < limit:
            break
    return done


class Heartbeat:
    """Keeps a claimed batch's lease alive from a thread while the worker sends (ADR 0163).

    Every lease/3 seconds the thread renews every row still `held` (sent or not: a row
    sent but not yet committed must not be reclaimed). A send can therefore take longer
    than the lease. Before each send the worker calls `ensure()`: when the last renewal
    is older than two thirds of the lease (the thread is starved, or the database did
    not answer) it renews at once and, if that fails or any row was lost to another
    worker, answers False so the worker stops sending and commits what it did. A row
    lost that way is never sent by this worker. Use as a context manager around the
    sending only: stop it before committing, so its UPDATE never waits on the commit's.
    """

    def __init__(self, model, ids, worker: str, lease: timedelta):
        self.model, self.worker, self.lease = model, worker, lease
        self.held = set(ids)
        self.lost: set[int] = set()
        self.engine = db.engine
        # Conservatively from now: the claim's own lease started a moment earlier.
        self.valid_until = time.monotonic() + lease.total_seconds() * 0.9
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop renewing (before the caller writes the held rows in its own transaction,
        where a renewal would wait on its row locks). Safe to call twice."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.lease.total_seconds() / 3):
            self._renew()

    def _renew(self) -> bool:
        """Renew what is held; False when the database failed or a row was lost."""
        with self._lock:
            if not self.held:
                return True
            started = time.monotonic()
            try:
                kept = renew(
                    self.model, self.held, self.worker, clock.now() + self.lease, engine=self.engine
                )
            except Exception:  # the database is unreachable: keep the old deadline
                log.warning("lease heartbeat: renewing %d rows failed", len(self.held))
                return False
            gone = self.held - kept
            if gone:
                log.warning("lease heartbeat: %d rows were claimed by another worker", len(gone))
                self.lost |= gone
                self.held = kept
                return False
            self.valid_until = started + self.lease.total_seconds()
            return True

    def finish(self, ids: set[int], write: Callable[[], None]) -> None:
        """Run `write` (which records the outcomes of `ids`) and stop holding those rows,
        with no renewal in between: a renewal racing the write would see the recorded
        rows as no longer pending and take them for lost."""
        with self._lock:
            write()
            self.held -= ids

    def ensure(self) -> bool:
        """True while the lease has at least a third left (renewing first if need be)."""
        if self.valid_until - time.monotonic() >= self.lease.total_seconds() / 3:
            return not self.lost
        return self._renew() and not self.lost
