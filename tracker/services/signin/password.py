"""Signing in with an email and a password on the sign-in form (throttled, audited)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from tracker.auth.passwords import verify_password
from tracker.core import clock
from tracker.extensions import db
from tracker.models import User
from tracker.services.core import audit
from tracker.services.core.transactions import commit_and_derive
from tracker.services.signin import device as devices
from tracker.services.signin import throttle
from tracker.services.signin.sso_config import password_sign_in_allowed

FORM_LABEL = "sign-in form"  # the actor of a failed attempt: nobody we know yet


@dataclass(frozen=True)
class Attempt:
    """The outcome: the user on success (else None), and the device cookie to set then."""

    user: User | None
    device_cookie: str | None = None
    single_sign_on_only: bool = False  # right password, but this account signs in by SSO


def authenticate(
    email: str, password: str, address: str | None = None, device_cookie: str | None = None
) -> Attempt:
    """Check the email and password; no hint which of them was wrong.

    A browser whose device cookie vouches for this account meets only its own
    counter; any other attempt meets the account's and the address's (signin/throttle.py).
    A locked counter raises TooManyAttempts before the password is looked at. Unknown
    emails cost one hash verification too, so timing does not tell which accounts exist.
    Sign-ins and failed sign-ins at existing accounts are audit events (`signed_in`,
    `sign_in_failed`), committed with the counters.
    """
    email = (email or "").strip().lower()
    user = db.session.scalar(select(User).where(User.email == email))
    known = devices.device_for(device_cookie, user.id if user else None)
    nonce = known.nonce if known else None
    throttle.check(email, address, device=nonce)
    ok = verify_password(user.password_hash if user else None, password or "")
    browser = "known" if known else "unknown"
    if ok and user is not None and user.can_sign_in and not password_sign_in_allowed(user):
        data = _target(user, address, browser) | {"reason": "single sign-on only"}
        audit.record(None, None, "sign_in_failed", data=data, label=FORM_LABEL)
        commit_and_derive()
        return Attempt(None, single_sign_on_only=True)
    if ok and user is not None and user.can_sign_in:
        user.last_login_at = clock.now()
        audit.record(None, user, "signed_in", data=_target(user, address, browser))
        throttle.record_success(email, device=nonce)  # commits the sign-in and its audit row
        return Attempt(user, devices.issue(device_cookie, user.id))
    if user is not None:
        data = _target(user, address, browser)
        audit.record(None, None, "sign_in_failed", data=data, label=FORM_LABEL)
    wait = throttle.record_failure(email, address, user, device=nonce)
    if wait is not None:  # this failure started a lock: say so now, not on the next try
        raise throttle.too_many(wait)
    return Attempt(None)


def _target(user: User, address: str | None, browser: str) -> dict:
    return {"user_id": user.id, "email": user.email, "address": address, "browser": browser}
