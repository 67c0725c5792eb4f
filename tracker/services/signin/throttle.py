"""Sign-in throttling: failed attempts per device cookie, per account and per address.

Counters live in the database (table `login_throttle`), so every web process
and host sees the same numbers and `make run` needs nothing new
(docs/adr/0080). Which counters an attempt meets depends on what it brings
(docs/adr/0193):

- a browser with a valid device cookie for the account (signin/device.py): its
  own counter only (scope `device`, the cookie's nonce). Nobody else's failures
  refuse it, whatever the account's or the address's counts say;
- an unknown browser: the account's counter (the email as typed) and the
  address's counter (credential stuffing across accounts);
- a valid credential of any kind (API token, calendar feed URL, ingest token):
  none at all. Only a credential that matched nothing is counted against its
  address (`refuse_failed_credential`, scope `token`), so a flood of bad tokens is
  slowed while the valid token sent from the same address answers. That count is
  kept apart from the sign-in form's address count: a script with an expired token
  behind the company's NAT does not slow its people's password sign-ins.

After LOGIN_THROTTLE_DEVICE_FREE / _ACCOUNT_FREE / _ADDRESS_FREE / _TOKEN_FREE failures, each
further failure locks that key for LOGIN_THROTTLE_BASE_SECONDS doubled per
failure (capped at LOGIN_THROTTLE_MAX_SECONDS). While a key is locked the
attempts that meet it are refused with 429 without looking at the password.
Failures older than LOGIN_THROTTLE_WINDOW_SECONDS are forgotten. A successful
sign-in clears the account's and the device's counters; the address's is not,
or one valid account would reset it between guesses at others.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from tracker.core import clock
from tracker.errors import TooManyAttempts
from tracker.extensions import db
from tracker.models import LoginThrottle, User
from tracker.services.core import audit
from tracker.services.core.transactions import commit_and_derive
from tracker.services.messaging.outbox import enqueue

ACCOUNT, ADDRESS, DEVICE, TOKEN = "account", "address", "device", "token"
_FREE_SETTING = {
    ACCOUNT: "LOGIN_THROTTLE_ACCOUNT_FREE",
    ADDRESS: "LOGIN_THROTTLE_ADDRESS_FREE",
    DEVICE: "LOGIN_THROTTLE_DEVICE_FREE",
    TOKEN: "LOGIN_THROTTLE_TOKEN_FREE",
}


def _key_hash(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()


def _keys(
    email: str | None, address: str | None, device: str | None = None
) -> list[tuple[str, str]]:
    """The counters an attempt meets: the device's alone when it has one, else the
    account's and the address's."""
    if device:
        return [(DEVICE, _key_hash(device))]
    keys = []
    if email:
        keys.append((ACCOUNT, _key_hash(email)))
    if address:
        keys.append((ADDRESS, _key_hash(address)))
    return keys


def check(
    email: str | None,
    address: str | None,
    now: datetime | None = None,
    *,
    device: str | None = None,
) -> None:
    """Raise TooManyAttempts (with the wait) when a counter this attempt meets is locked:
    the device's (`device`, a valid cookie's nonce), else the account's or the address's."""
    _refuse_if_locked(_keys(email, address, device), now or clock.now())


def _refuse_if_locked(keys: list[tuple[str, str]], now: datetime) -> None:
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
    email: str | None,
    address: str | None,
    user: User | None = None,
    now: datetime | None = None,
    *,
    device: str | None = None,
) -> timedelta | None:
    """Count one failure on each counter the attempt met, lock what passed its allowance,
    alert the owner when the account's count reaches it.

    Returns the longest wait this failure started (None: nothing locked yet). One commit
    per key, so a lost race on a new row's insert rolls back nothing else; whatever the
    caller added to the session (an audit row) commits with the first.
    """
    return _count(_keys(email, address, device), now or clock.now(), user, address)


def _count(
    keys: list[tuple[str, str]], now: datetime, user: User | None = None, address: str | None = None
) -> timedelta | None:
    waits = []
    for scope, key in keys:
        failures = _bump(scope, key, now)
        free = current_app.config[_FREE_SETTING[scope]]
        if failures >= free:
            waits.append(_backoff(failures - free))
            db.session.execute(
                update(LoginThrottle)
                .where(LoginThrottle.scope == scope, LoginThrottle.key_hash == key)
                .values(locked_until=now + waits[-1])
            )
        if scope == ACCOUNT and user is not None and failures == free:
            _alert_owner(user, failures, address, now)
        commit_and_derive()
    return max(waits, default=None)


def record_success(email: str, *, device: str | None = None) -> None:
    """Forget the failures of the counter this sign-in met: the device's, or (from an
    unknown browser, which only gets here while the account is not locked) the
    account's. The owner signing in on her known browser does not lift a lock that
    someone else's guesses put on unknown browsers; the address keeps its count. Commit."""
    scope, key = (DEVICE, device) if device else (ACCOUNT, email)
    db.session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.scope == scope, LoginThrottle.key_hash == _key_hash(key)
        )
    )
    commit_and_derive()


def refuse_failed_credential(address: str | None, now: datetime | None = None) -> None:
    """A credential that matched nothing (a Bearer token, an ingest token): 429 when its
    address is locked for bad credentials or this failure locks it; otherwise count it.

    Call it only after the credential failed: a valid one never meets this counter, so
    nobody else's failures from the same address can refuse it."""
    if not address:
        return
    keys = [(TOKEN, _key_hash(address))]
    now = now or clock.now()
    _refuse_if_locked(keys, now)
    if wait := _count(keys, now):
        raise too_many(wait)


@dataclass(frozen=True)
class AccountThrottle:
    """What the admin Users page shows for one account: failures from unknown browsers."""

    failures: int
    last_failure_at: datetime
    locked_until: datetime | None


def account_states(emails: list[str], now: datetime | None = None) -> dict[str, AccountThrottle]:
    """The recent failure counts of these accounts (by email, one query); accounts with
    none, or whose failures are older than the window, are left out."""
    now = now or clock.now()
    window = timedelta(seconds=current_app.config["LOGIN_THROTTLE_WINDOW_SECONDS"])
    by_hash = {_key_hash(e): e for e in emails}
    if not by_hash:
        return {}
    rows = db.session.execute(
        select(LoginThrottle).where(
            LoginThrottle.scope == ACCOUNT,
            LoginThrottle.key_hash.in_(by_hash),
            LoginThrottle.last_failure_at >= now - window,
        )
    ).scalars()
    return {
        by_hash[row.key_hash]: AccountThrottle(
            row.failures,
            row.last_failure_at,
            row.locked_until if row.locked_until and row.locked_until > now else None,
        )
        for row in rows
    }


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
    audit.record(
        None,
        user,
        "sign_in_throttled",
        reason=(
            f"{failures} failed sign-ins from unknown browsers; "
            "further attempts from those are slowed down."
        ),
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
            "Further attempts from browsers that never signed in to your account are "
            "slowed down for a while; a browser you signed in on before still signs in "
            "as usual.\n\n"
            "If this was you, sign in on a browser you used before, or wait a few minutes "
            "and try again. If it was not, nobody got in; tell your administrator so they "
            "can look into it.\n"
        ),
        category="security",
    )
