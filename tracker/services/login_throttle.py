"""Sign-in throttling: failed attempts per account name and per client address.

Counters live in the database (table `login_throttle`), so every web process
and host sees the same numbers and `make run` needs nothing new
(docs/adr/0080). After LOGIN_THROTTLE_ACCOUNT_FREE failures for one email, or
LOGIN_THROTTLE_ADDRESS_FREE from one address, each further failure locks that
key for LOGIN_THROTTLE_BASE_SECONDS doubled per failure (capped at
LOGIN_THROTTLE_MAX_SECONDS). While a key is locked sign-in is refused with 429
without looking at the password. Failures older than
LOGIN_THROTTLE_WINDOW_SECONDS are forgotten. The account's counter is cleared
by a successful sign-in; the address's is not, or one valid account would
reset it between guesses at others.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from tracker.core import clock
from tracker.errors import TooManyAttempts
from tracker.extensions import db
from tracker.models import LoginThrottle, User

ACCOUNT, ADDRESS = "account", "address"


def _key_hash(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()


def _keys(email: str | None, address: str | None) -> list[tuple[str, str]]:
    keys = []
    if email:
        keys.append((ACCOUNT, _key_hash(email)))
    if address:
        keys.append((ADDRESS, _key_hash(address)))
    return keys


def check(email: str | None, address: str | None, now: datetime | None = None) -> None:
    """Raise TooManyAttempts (with the wait) when the account or the address is locked."""
    now = now or clock.now()
    keys = _keys(email, address)
    if not keys:
        return
    clauses = [(LoginThrottle.scope == s) & (LoginThrottle.key_hash == k) for s, k in keys]
    until = db.session.scalar(
        select(LoginThrottle.locked_until)
        .where(or_(*clauses), LoginThrottle.locked_until > now)
        .order_by(LoginThrottle.locked_until.desc())
        .limit(1)
    )
    if until is not None:
        raise too_many(until - now)


def too_many(wait: timedelta) -> TooManyAttempts:
    """The 429: the same words on the sign-in form and from the API."""
    seconds = max(1, math.ceil(wait.total_seconds()))
    minutes = max(1, math.ceil(seconds / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return TooManyAttempts(
        f"Too many attempts, try again in {minutes} {unit}.", retry_after=seconds
    )


def record_failure(
    email: str | None, address: str | None, user: User | None = None, now: datetime | None = None
) -> timedelta | None:
    """Count one failure for each key, lock what passed its allowance, alert the owner.

    Returns the longest wait this failure started (None: nothing locked yet). One commit
    per key, so a lost race on a new row's insert rolls back nothing else.
    """
    waits = []
    now = now or clock.now()
    free = {
        ACCOUNT: current_app.config["LOGIN_THROTTLE_ACCOUNT_FREE"],
        ADDRESS: current_app.config["LOGIN_THROTTLE_ADDRESS_FREE"],
    }
    for scope, key in _keys(email, address):
        failures = _bump(scope, key, now)
        if failures >= free[scope]:
            waits.append(_backoff(failures - free[scope]))
            db.session.execute(
                update(LoginThrottle)
                .where(LoginThrottle.scope == scope, LoginThrottle.key_hash == key)
                .values(locked_until=now + waits[-1])
            )
        if scope == ACCOUNT and user is not None and failures == free[ACCOUNT]:
            _alert_owner(user, failures, address, now)
        db.session.commit()
    return max(waits, default=None)


def record_success(email: str) -> None:
    """Forget the account's failures (the address keeps its count); commit."""
    db.session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.scope == ACCOUNT, LoginThrottle.key_hash == _key_hash(email)
        )
    )
    db.session.commit()


def _backoff(extra_failures: int) -> timedelta:
    base = current_app.config["LOGIN_THROTTLE_BASE_SECONDS"]
    cap = current_app.config["LOGIN_THROTTLE_MAX_SECONDS"]
    return timedelta(seconds=min(cap, base * 2 ** min(extra_failures, 30)))


def _bump(scope: str, key: str, now: datetime) -> int:
    """failures + 1 in one UPDATE (no lost increments between processes); the new count."""
    window = timedelta(seconds=current_app.config["LOGIN_THROTTLE_WINDOW_SECONDS"])
    where = (LoginThrottle.scope == scope, LoginThrottle.key_hash == key)
    # A quiet spell longer than the window starts the count again.
    db.session.execute(
        update(LoginThrottle)
        .where(*where, LoginThrottle.last_failure_at < now - window)
        .values(failures=0, locked_until=None)
    )
    changed = db.session.execute(
        update(LoginThrottle)
        .where(*where)
        .values(failures=LoginThrottle.failures + 1, last_failure_at=now)
    ).rowcount
    if not changed:
        db.session.add(LoginThrottle(scope=scope, key_hash=key, failures=1, last_failure_at=now))
        try:
            db.session.flush()
        except IntegrityError:  # another process inserted it first: count on its row
            db.session.rollback()
            return _bump(scope, key, now)
    return db.session.scalar(select(LoginThrottle.failures).where(*where))


def _alert_owner(user: User, failures: int, address: str | None, now: datetime) -> None:
    """Audit record and an email (through the outbox, sent by the scheduler), once per lock."""
    from tracker.services import audit
    from tracker.services.outbox import enqueue

    audit.record(
        None,
        user,
        "sign_in_throttled",
        reason=f"{failures} failed sign-ins; further attempts are slowed down.",
        data={"failures": failures, "address": address},
    )
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    enqueue(
        f"sign-in-throttled:{user.id}:{stamp}",
        user,
        "Repeated failed sign-ins to your Engagement Tracker account",
        (
            f"Hello {user.name},\n\n"
            f"There were {failures} failed attempts to sign in to your account "
            f"({user.email}), the last one at {stamp} from {address or 'an unknown address'}.\n"
            "Further attempts are slowed down for a while.\n\n"
            "If this was you, wait a few minutes and try again. If it was not, nobody "
            "got in; tell your administrator so they can look into it.\n"
        ),
        category="security",
    )
