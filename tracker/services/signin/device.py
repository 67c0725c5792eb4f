"""Device cookies (OWASP's "device cookie" defence against lock-out by guessing).

After a successful sign-in the browser gets a cookie that says, signed with the app's
secret, "account U signed in here" with a random nonce and the time. On the next attempt
at account U from that browser, failures are counted on the nonce only and the account's
and the address's counters do not apply, so nobody else's guesses can refuse this browser.

One cookie holds the entries for the last few accounts that signed in on the browser
(most recent first); each entry expires on its own after DEVICE_COOKIE_DAYS.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

COOKIE_NAME = "tracker_device"
MAX_ENTRIES = 5
_SALT = "tracker.device-cookie"


@dataclass(frozen=True)
class Device:
    """A valid entry of the cookie: this browser signed in as `user_id` before."""

    user_id: int
    nonce: str
    issued: int  # epoch seconds


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=_SALT)


def max_age_seconds() -> int:
    return int(current_app.config["DEVICE_COOKIE_DAYS"]) * 86400


def _entries(cookie: str | None, now: float) -> list[Device]:
    """The unexpired, well-formed entries of a correctly signed cookie; [] otherwise."""
    if not cookie:
        return []
    try:
        raw = _serializer().loads(cookie)
    except BadSignature:
        return []
    if not isinstance(raw, list):
        return []
    oldest = now - max_age_seconds()
    found = []
    for item in raw[:MAX_ENTRIES]:
        if not (isinstance(item, list) and len(item) == 3):
            continue
        user_id, nonce, issued = item
        if isinstance(user_id, int) and isinstance(nonce, str) and isinstance(issued, int):
            if issued > oldest:
                found.append(Device(user_id, nonce, issued))
    return found


def device_for(cookie: str | None, user_id: int | None, now: float | None = None) -> Device | None:
    """The cookie's valid entry for this account, or None (unknown browser)."""
    if user_id is None:
        return None
    now = time.time() if now is None else now
    return next((d for d in _entries(cookie, now) if d.user_id == user_id), None)


def issue(cookie: str | None, user_id: int, now: float | None = None) -> str:
    """The cookie value after `user_id` signed in: a fresh entry first, then the others."""
    now = time.time() if now is None else now
    others = [d for d in _entries(cookie, now) if d.user_id != user_id][: MAX_ENTRIES - 1]
    fresh = Device(user_id, secrets.token_urlsafe(16), int(now))
    return _serializer().dumps([[d.user_id, d.nonce, d.issued] for d in [fresh, *others]])
