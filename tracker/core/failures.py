"""Per-row failures of a scheduler step: logged with their reason and counted for the tick.

A step's handlers call `record(kind, row_id, reason)` for every row they could not do
(given up for good, or left for a later retry). The tick wraps each step in
`collect()` and reports the count per step, so `flask scheduler tick` can say what
failed and exit non-zero (ADR 0130). Outside `collect()` a failure is only logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

log = logging.getLogger("tracker.scheduling.failures")


@dataclass
class Failures:
    count: int = 0
    reasons: list[str] = field(default_factory=list)  # the first few, for the output
    notes: list[str] = field(default_factory=list)  # why the step did not run (e.g. paused)

    KEEP = 5


_current: ContextVar[Failures | None] = ContextVar("scheduler_failures", default=None)


def record(kind: str, row_id: int | str, reason: str) -> None:
    """Log one failed row with its reason and count it in the running step, if any."""
    log.warning("%s %s failed: %s", kind, row_id, reason)
    seen = _current.get()
    if seen is not None:
        seen.count += 1
        if len(seen.reasons) < Failures.KEEP:
            seen.reasons.append(f"{kind} {row_id}: {reason}"[:300])


def note(reason: str) -> None:
    """Say why the running step did nothing though it had work (e.g. its mail server's
    breaker is open): not a failed row, but not a clean run either (ADR 0204)."""
    log.info("scheduler step paused: %s", reason)
    seen = _current.get()
    if seen is not None:
        seen.notes.append(reason[:300])


def absorb(other: Failures) -> None:
    """Count in the running step what a helper thread of it collected (its own
    `collect()`: a context variable does not follow a thread)."""
    seen = _current.get()
    if seen is None:
        return
    seen.count += other.count
    seen.reasons.extend(other.reasons[: max(0, Failures.KEEP - len(seen.reasons))])
    seen.notes.extend(other.notes)


@contextmanager
def collect() -> Iterator[Failures]:
    """Count the failures recorded inside the block (one scheduler step)."""
    seen = Failures()
    token = _current.set(seen)
    try:
        yield seen
    finally:
        _current.reset(token)
