"""The unit of work: the one way a service commits, and optimistic-concurrency checks.

`commit_and_derive` is every service's commit, and the call that keeps derived data
current: the pipeline `tracker.services.derived` lists runs inside it, in the same
transaction. Its per-flush steps (webhook rows, timers, health history, cancelled
reminders) run at each flush; its commit steps (reminders, readiness, then health) run
once, right before the commit, over the engagements whose inputs the unit of work
changed, as recorded by the pipeline's own flush listener. A service names nothing: it
changes rows and calls `commit_and_derive()`. The pipeline is plugged in here by
`derived.register_derived_data` (`install_commit_hook`), so this module imports no judgment.

A failure anywhere (a derived step included) rolls the whole unit of work back. A lost
optimistic-concurrency race (SQLAlchemy's StaleDataError at flush or commit) rolls back
and becomes a ConcurrentUpdate (409) unless the caller retries races itself
(`retry_races=True`, for the few operations that replay once).

Imports: models, errors and extensions only; no other services package (an
import-linter contract in pyproject.toml), which is what lets every package use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import contextmanager, nullcontext
from datetime import datetime

from sqlalchemy import event, inspect
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from tracker.errors import ConcurrentUpdate, StaleVersion
from tracker.extensions import db

# The session.info key under which commit_and_derive passes its `now` to the commit steps.
DERIVE_AS_OF = "derived.as_of"

# session.info key: the objects whose committed state commit_and_derive(keep=...) restores,
# then (after the commit) their attribute values as the commit wrote them.
KEEP = "transactions.keep"
KEPT = "transactions.kept"

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
    if not event.contains(db.session, "after_commit", _snapshot_kept):
        event.listen(db.session, "after_commit", _snapshot_kept)
    _commit_hook[:] = [hook]


def _snapshot_kept(session) -> None:
    """After the commit, before SQLAlchemy expires every object: the loaded attribute
    values of the objects commit_and_derive was asked to keep (its derived steps and
    last flush included, so these are the values the database now holds)."""
    keep = session.info.pop(KEEP, None)
    if not keep:
        return
    kept = []
    for obj in keep:
        state = inspect(obj)
        names = state.mapper.attrs.keys()
        kept.append((obj, {k: state.dict[k] for k in names if k in state.dict}))
    session.info[KEPT] = kept


def commit_and_derive(
    *, now: datetime | None = None, retry_races: bool = False, keep: Iterable[object] = ()
) -> None:
    """Commit the unit of work with its derived data current, or roll all of it back.

    `now`: the instant the commit steps judge as of (a transition's own clock);
    the current time when None. `keep`: objects the caller reads again right after the
    commit (to answer with them): their values as committed stay loaded instead of being
    expired and selected again; an attribute not loaded at the commit still loads.
    """
    if not _commit_hook:
        raise RuntimeError("derived data is not registered: create_app installs it")
    guard = nullcontext() if retry_races else losing_race_is_conflict()
    with guard:
        session = db.session()
        if now is not None:
            session.info[DERIVE_AS_OF] = now
        if keep:
            session.info[KEEP] = list(keep)
        try:
            session.commit()
        except StaleDataError:
            raise  # the guard rolls back (or the caller replays the race)
        except Exception:
            session.rollback()
            raise
        finally:
            session.info.pop(DERIVE_AS_OF, None)
            session.info.pop(KEEP, None)
        _restore_kept(session)


def _restore_kept(session) -> None:
    for obj, values in session.info.pop(KEPT, ()):
        if inspect(obj).session is not session:
            continue  # deleted by the unit of work, or never in it
        for key, value in values.items():
            set_committed_value(obj, key, value)


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
