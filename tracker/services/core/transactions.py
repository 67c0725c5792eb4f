"""The unit of work: the one way a service commits, and optimistic-concurrency checks.

`commit_and_derive` is every service's commit. Derived data stays current through it:
the flush listeners that `tracker.services.derived` installs run inside its flush and
commit (readiness, reminders, webhook rows, timers, health history), and the health of
the engagements a service names with `health_of=` is recomputed right before the commit,
by the step `derived.register_derived_data` plugs in here (`HEALTH_STEP`). A reader of a
service sees `commit_and_derive(health_of=engagement)` and finds the rest in derived.py.

A lost optimistic-concurrency race (SQLAlchemy's StaleDataError at flush or commit)
rolls back and becomes a ConcurrentUpdate (409) unless the caller retries races itself
(`retry_races=True`, for the few operations that replay once).

Imports: models, errors and extensions only; no other services package (an
import-linter contract in pyproject.toml), which is what lets every package use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import contextmanager, nullcontext
from datetime import datetime

from sqlalchemy.orm.exc import StaleDataError

from tracker.errors import ConcurrentUpdate, StaleVersion
from tracker.extensions import db
from tracker.models import Engagement

# Recomputes and caches the health of these engagements (no commit). Installed by
# tracker.services.derived.register_derived_data (health.refresh_health).
HealthStep = Callable[..., None]
_health_step: list[HealthStep] = []


def install_health_step(step: HealthStep) -> None:
    """Plug in the health step (called by register_derived_data; once is enough)."""
    _health_step[:] = [step]


def commit_and_derive(
    *,
    health_of: Engagement | Iterable[int] | None = None,
    now: datetime | None = None,
    retry_races: bool = False,
) -> None:
    """Commit the unit of work with its derived data current.

    `health_of`: an engagement (or engagement ids) whose health this change may move;
    it is recomputed (as of `now`) after a flush and before the commit, in the same
    transaction. Everything else derived is kept by the flush listeners.
    """
    guard = nullcontext() if retry_races else losing_race_is_conflict()
    with guard:
        if health_of is not None:
            derive_health(health_of, now=now)
        db.session.commit()


def derive_health(health_of: Engagement | Iterable[int], *, now: datetime | None = None) -> None:
    """Recompute these engagements' health now, without committing: for the steps that
    run inside another service's unit of work (bound checklist items, a measurement
    batch) before the commit that `commit_and_derive` makes."""
    if not _health_step:
        raise RuntimeError("derived data is not registered: create_app installs it")
    ids = [health_of.id] if isinstance(health_of, Engagement) else list(health_of)
    db.session.flush()
    _health_step[0](ids, now=now)


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
