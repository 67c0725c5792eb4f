"""Run one piece of work from several threads at the same moment, each in its own session.

The concurrency tests (two approvers, two posters, two editors of one version...) all need
the same harness: N threads, each with an app context and so its own database session,
released together by a barrier so their transactions overlap, and each thread's outcome
(its return value, or the exception it raised) handed back in order for the test to judge.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from tracker.extensions import db


def run_at_once(
    app,
    work: Callable[[int], Any],
    threads: int,
    *,
    prepare: Callable[[int], None] | None = None,
    timeout: float = 60,
) -> list:
    """Call `work(index)` in `threads` threads released together; a list of outcomes.

    `prepare(index)`, if given, runs in the thread's session before the barrier (for
    example to read the row both threads will then write, so both hold the same version).
    Each outcome is what `work` returned or the exception it (or `prepare`) raised. A thread
    still running after `timeout` seconds fails the test rather than reading as "no answer".
    """
    barrier = threading.Barrier(threads)
    outcomes: list = [None] * threads

    def run(index: int) -> None:
        with app.app_context():
            try:
                if prepare is not None:
                    prepare(index)
                barrier.wait(timeout=10)
                outcomes[index] = work(index)
            except Exception as exc:  # the test inspects what each thread got
                outcomes[index] = exc
            finally:
                db.session.remove()

    started = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join(timeout=timeout)
    stuck = [i for i, thread in enumerate(started) if thread.is_alive()]
    assert not stuck, f"threads {stuck} still running after {timeout} s"
    return outcomes
