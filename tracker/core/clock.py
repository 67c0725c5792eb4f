"""The scheduler's clock: real UTC time, or a clock a test (or a dry run) installs on the app."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Flask, current_app, has_app_context

from tracker.db_setup import utcnow

EXTENSION_KEY = "tracker.clock"


def now() -> datetime:
    """The current instant as the app sees it: `app.extensions["tracker.clock"]()` if installed."""
    if has_app_context():
        clock = current_app.extensions.get(EXTENSION_KEY)
        if clock is not None:
            return clock()
    return utcnow()


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
