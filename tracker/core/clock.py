"""The application's one clock: real UTC time, or a clock a test (or a dry run) installs.

Everything that asks "what time is it?" calls `now()`: services, pages, the scheduler,
and the models' created_at/updated_at defaults. A test freezes or moves time for all of
them at once with `install(app, FixedClock(instant))`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

from flask import Flask, current_app, has_app_context

EXTENSION_KEY = "tracker.clock"


def now() -> datetime:
    """The current instant, timezone-aware UTC: the installed clock's, else real time.

    Also the models' timestamp default (a callable without arguments).
    """
    if has_app_context():
        clock = current_app.extensions.get(EXTENSION_KEY)
        if clock is not None:
            return clock()
    return datetime.now(UTC)


def midnight(instant: datetime) -> datetime:
    """The start of `instant`'s UTC day (the health cache's "computed today" line)."""
    return datetime.combine(instant.astimezone(UTC).date(), time.min, tzinfo=UTC)


class FixedClock:
    """A clock that stands still until moved: `clock.advance(hours=6)`, `clock.set(instant)`."""

    def __init__(self, instant: datetime):
        if instant.tzinfo is None:
            raise ValueError("the clock needs a timezone-aware instant")
        self.instant = instant

    def __call__(self) -> datetime:
        return self.instant

    def set(self, instant: datetime) -> None:
        self.instant = instant

    def advance(self, **delta) -> datetime:
        self.instant += timedelta(**delta)
        return self.instant


def install(app: Flask, clock: Callable[[], datetime] | None) -> None:
    """Make `clock` the app's notion of now (None restores real time)."""
    if clock is None:
        app.extensions.pop(EXTENSION_KEY, None)
    else:
        app.extensions[EXTENSION_KEY] = clock
