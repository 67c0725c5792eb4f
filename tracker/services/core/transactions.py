"""The unit of work: the one way a service commits, and optimistic-concurrency checks.

`commit_and_derive` is every service's commit, and the call that keeps derived data
current: the pipeline `tracker.services.derived` lists runs inside it, in the same
transaction. Its per-flush steps (readiness, reminders, webhook rows, timers, health
history) run at each flush; its commit steps (health) run once, right before the
commit, over the engagements whose inputs the unit of work changed, as recorded by the
pipeline's own flush listener. A service names nothing: it changes rows and calls
`commit_and_derive()`. The pipeline is plugged in here by `derived.register_derived_data`
(`install_commit_hook`), so this module imports no judgment.

A failure anywhere (a derived step included) rolls the whole unit of work back. A lost
optimistic-concurrency race (SQLAlchemy's StaleDataError at flush or commit) rolls back
and becomes a ConcurrentUpdate (409) unless the caller retries races itself
(`retry_races=True`, for the few operations that replay once).

Imports: models, errors and extensions only; no other services package (an
import-linter contract in pyproject.toml), which is what lets every package use it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from datetime import datetime

from sqlalchemy import event
from sqlalchemy.orm.exc import StaleDataError

from tracker.errors import ConcurrentUpdate, StaleVersion
from tracker.extensions import db

# The session.info key under which commit_and_derive passes its `now` to the commit steps.
DERIVE_AS_OF = "derived.as_of"

# The before-commit hook of the derived-data pipeline, once installed.
CommitHook = Callable[..., None]
_commit_hook: list[CommitHook] = []


def install_commit_hook(hook: CommitHook) -> None:
    """Run `hook(session)` before every commit (called by register_derived_data)."""
    for old in _commit_hook:
        if old is not hook and event.contains(db.session, "before_commit", old):
            event.remove(db.session, "before_commit", old)
    if not event.contains(db.session, "before_commit", hook):
        event.listen(db.session, "before_commit", hook)
    _commit_hook[:] = [hook]


def commit_and_derive(*, now: datetime | None = None, retry_races: bool = False) -> None:
    """Commit the unit of work with its derived data current, or roll all of it back.

    `now`: the instant the commit steps judge as of (a transition's own clock);
    the current time when None.
    """
    if not _commit_hook:
        raise RuntimeError("derived data is not registered: create_app installs it")
    guard = nullcontext() if retry_races else losing_race_is_conflict()
    with guard:
        session = db.session()
        if now is not None:
            session.info[DERIVE_AS_OF] = now
        try:
            session.commit()
        except StaleDataError:
            raise  # the guard rolls back (or the caller replays the race)
        except Exception:
            session.rollback()
            raise
        finally:
            session.info.pop(DERIVE_AS_OF, None)


@contextmanager
def losing_race_is_conflict():
    """Turn SQLAlchemy's version-check failure (at flush or commit) into a clean 409."""
    try:
        yield
    except StaleDataError as exc:
        db.session.rollback()
        raise ConcurrentUpdate(
            "Someone else changed this at the same time; nothing was saved. Reload and retry."
        ) from exc


def check_version(
    row, expected_version: int | None, what: str = "this engagement", *, verb: str = "changed"
) -> None:
    """Refuse to act on a row someone changed since the client read it (409 with the versions)."""
    if expected_version is not None and row.version != expected_version:
        raise StaleVersion(
            f"Someone {verb} {what} since you loaded it; reload and try again.",
            errors={"version": [f"expected {expected_version}, current {row.version}"]},
        )
