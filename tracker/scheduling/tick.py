"""One scheduler tick: the steps of `steps.TICK_STEPS` in order, each materialising or
delivering what is due, after one question to all of them: is there work for you?
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import bindparam, select

from tracker.core import clock, failures
from tracker.db_setup import UTCDateTime
from tracker.extensions import db
from tracker.scheduling import status
from tracker.scheduling.steps import TICK_STEPS, WIRE_STEPS, Step

log = logging.getLogger(__name__)


def run_tick(now: datetime | None = None, *, only: str = "all") -> dict:
    """Run every step once (in an app context); one failing step does not stop the others.

    `only="local"` runs the steps that work on the database alone, `only="wire"` the
    delivery steps (the two scheduler jobs); the default runs all of them, in order.

    One statement first asks every step whether it has work (ADR 0178): a step with
    none is not run, unless an earlier step of this tick did something (it may have
    queued work for it, as reminders queue email). An idle tick is that read and the
    bookkeeping write, in one transaction.

    Returns each step's count; a step that raised gives "error: ..." instead,
    `"failed": {step: n}` lists the steps where rows failed (absent when none did), and
    `"paused": {step: why}` the steps that had work but waited for a breaker (ADR 0204).
    Every step's outcome is recorded for /healthz, in one write at the end.
    """
    now = now or clock.now()
    steps = [s for s in TICK_STEPS if only == "all" or (s.name in WIRE_STEPS) == (only == "wire")]
    has_work = _has_work(steps, now)
    results: dict = {}
    failed: dict[str, int] = {}
    paused: dict[str, str] = {}  # steps that had work but waited (an open breaker)
    runs: list[status.StepRun] = []
    busy = False  # an earlier step of this tick did something
    reading = True  # the question's read transaction is still open
    for step in steps:
        name, error = step.name, None
        if reading and (busy or has_work[name]):
            db.session.rollback()  # a step must not work in the question's snapshot
            reading = False
        with failures.collect() as seen:
            try:
                results[name] = step.run(now) if busy or has_work[name] else 0
            except Exception as exc:  # logged and reported; the next tick tries again
                log.exception("scheduler step %s failed", name)
                db.session.rollback()
                error = f"error: {type(exc).__name__}: {exc}"
                results[name] = error
        busy = busy or results[name] != 0 or seen.count > 0
        if seen.count:
            failed[name] = seen.count
        if seen.notes:
            paused[name] = "; ".join(seen.notes)
            error = error or paused[name]  # not a clean run: last_success_at stays
        reason = error or ("; ".join(seen.reasons) or None)
        runs.append(status.StepRun(name, clock.now(), seen.count, reason))
    _record(runs)
    if failed:
        results["failed"] = failed
    if paused:
        results["paused"] = paused
    return results


def _has_work(steps: list[Step], now: datetime) -> dict[str, bool]:
    """Which steps have work: one SELECT of each step's EXISTS, built once per process
    with the instants as bound parameters (so it is compiled once, too). Every step runs
    if the question itself fails: the steps will report what is wrong."""
    names = tuple(step.name for step in steps)
    try:
        statement = _questions.get(names)
        if statement is None:
            at = bindparam("now", type_=UTCDateTime()), bindparam("midnight", type_=UTCDateTime())
            statement = select(*(step.pending(*at).label(step.name) for step in steps))
            _questions[names] = statement
        # On the session's connection, not through the session: a SELECT of labels loads
        # no entity, and the ORM's execution path cost ~0.4 ms of an idle tick's CPU.
        params = {"now": now, "midnight": clock.midnight(now)}
        row = db.session.connection().execute(statement, params).one()
        if db.session.get_bind().dialect.name == "sqlite":
            # SQLite cannot turn a read snapshot into a write once another connection
            # has written since: end the read now.
            db.session.rollback()
        # Elsewhere the read transaction stays open: when nothing has work, the
        # bookkeeping write ends it (one transaction per idle tick); otherwise it is
        # ended before the first step runs.
        return dict(row._mapping)
    except Exception:
        log.exception("could not ask the scheduler steps for work; running them all")
        db.session.rollback()
        return dict.fromkeys(names, True)


_questions: dict[tuple[str, ...], object] = {}


def _record(runs) -> None:
    """Every step's outcome in one write at the end of the tick (for /healthz)."""
    try:
        status.record_steps(runs)
    except Exception:  # bookkeeping must never stop the scheduler
        log.exception("could not record the scheduler steps %s", [run.name for run in runs])
        db.session.rollback()
