"""Sign-in throttling: per device cookie, per account and per address, in the database,
429 with the wait."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from tests.conftest import AuthActions, csrf_from
from tests.factories import PASSWORD, make_user
from tracker.core import clock
from tracker.errors import TooManyAttempts
from tracker.extensions import db
from tracker.models import AuditEvent, LoginThrottle, OutboxEmail
from tracker.services.administration import users as user_service
from tracker.services.signin import password as password_signin
from tracker.services.signin import throttle as login_throttle


def _attempt(client, email, password, address="10.0.0.1"):
    form = client.get("/login", environ_base={"REMOTE_ADDR": address})
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_from(form.text)},
        environ_base={"REMOTE_ADDR": address},
    )


@pytest.fixture
def owner(app):
    with app.app_context():
        user = make_user("manager", email="dana@example.com", name="Dana Lee")
        return user.email


def _unlock_everything(app):
    with app.app_context():
        db.session.execute(update(LoginThrottle).values(locked_until=clock.now() - timedelta(1)))
        db.session.commit()


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(app, client, owner):
    for _ in range(4):
        assert _attempt(client, owner, "wrong guess").status_code == 400
    fifth = _attempt(client, owner, "wrong guess")
    assert fifth.status_code == 429
    assert "Too many attempts, try again in 1 minute." in fifth.text
    assert fifth.headers["Retry-After"] == "60"
    refused = _attempt(client, owner, PASSWORD)
    assert refused.status_code == 429 and "/dashboard" not in refused.headers.get("Location", "")
    # Another address is locked out of this account too: the lock is the account's.
    assert _attempt(client, owner, PASSWORD, address="10.9.9.9").status_code == 429


def test_the_wait_doubles_with_each_failure_after_the_lock(app, owner):
    with app.test_request_context():
        start = clock.now()
        waits = []
        for n in range(8):
            login_throttle.record_failure(owner, None, now=start + timedelta(hours=n))
            with pytest.raises(TooManyAttempts) if n >= 4 else _nothing():
                login_throttle.check(owner, None, now=start + timedelta(hours=n))
            row = db.session.scalar(select(LoginThrottle))
            if row.locked_until:
                waits.append(row.locked_until - (start + timedelta(hours=n)))
    assert [w.total_seconds() for w in waits] == [60, 120, 240, 480]


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_success_clears_the_account_count(app, client, owner):
    for _ in range(4):
        _attempt(client, owner, "wrong guess")
    assert _attempt(client, owner, PASSWORD).status_code == 302
    AuthActions(client).logout()
    for _ in range(4):
        assert _attempt(client, owner, "wrong guess").status_code == 400


def test_a_lock_that_ran_out_lets_the_right_password_in(app, client, owner):
    for _ in range(5):
        _attempt(client, owner, "wrong guess")
    _unlock_everything(app)
    assert _attempt(client, owner, PASSWORD).status_code == 302


def test_many_emails_from_one_address_lock_that_address(app, client, owner):
    statuses = [_attempt(client, f"user{n}@example.com", "x" * 12).status_code for n in range(20)]
    assert statuses[:19] == [400] * 19 and statuses[19] == 429
    assert _attempt(client, owner, PASSWORD).status_code == 429  # the address, not the account
    assert _attempt(client, owner, PASSWORD, address="10.0.0.2").status_code == 302


def test_unknown_and_known_emails_lock_the_same_way(app, client, owner):
    known = [_attempt(client, owner, "wrong guess", "10.1.1.1").status_code for _ in range(5)]
    unknown = [
        _attempt(client, "ghost@example.com", "wrong guess", "10.1.1.2").status_code
        for _ in range(5)
    ]
    assert known == unknown == [400, 400, 400, 400, 429]


def test_the_owner_gets_one_audit_record_and_one_email_per_lock(app, client, owner):
    for _ in range(7):
        _attempt(client, owner, "wrong guess")
    with app.app_context():
        audits = db.session.scalars(
            select(AuditEvent).where(AuditEvent.kind == "sign_in_throttled")
        ).all()
        mails = db.session.scalars(select(OutboxEmail)).all()
        stored = db.session.scalars(select(LoginThrottle.key_hash)).all()
    assert len(audits) == 1 and audits[0].data == {"failures": 5, "address": "10.0.0.1"}
    assert [m.to_address for m in mails] == [owner] and mails[0].category == "security"
    assert "5 failed attempts" in mails[0].text_body and mails[0].status == "pending"
    assert owner not in stored and all(len(h) == 64 for h in stored)  # hashes, not emails


def test_unknown_emails_send_no_mail_and_write_no_audit(app, client):
    for _ in range(6):
        _attempt(client, "ghost@example.com", "wrong guess")
    with app.app_context():
        assert db.session.scalar(select(func.count(OutboxEmail.id))) == 0
        assert db.session.scalar(select(func.count(AuditEvent.id))) == 0


def test_bad_api_tokens_are_throttled_per_address(app, client, owner):
    with app.app_context():
        user = user_service.get_user_by_email(owner)
        good = user_service.create_token(user, "ok")[1]
    bad = {"Authorization": "Bearer et_guess", "REMOTE_ADDR": "10.2.2.2"}
    statuses = []
    for _ in range(21):
        response = client.get(
            "/api/v1/me",
            headers={"Authorization": bad["Authorization"]},
            environ_base={"REMOTE_ADDR": bad["REMOTE_ADDR"]},
        )
        statuses.append(response.status_code)
    assert statuses[:19] == [401] * 19 and statuses[19:] == [429, 429]
    body = response.get_json()
    assert body["code"] == "too_many_attempts" and "try again in" in body["message"]
    assert int(response.headers["Retry-After"]) > 0
    # The address is locked for bad tokens, never for a valid one (ADR 0193).
    valid = client.get(
        "/api/v1/me",
        headers={"Authorization": f"Bearer {good}"},
        environ_base={"REMOTE_ADDR": "10.2.2.2"},
    )
    assert valid.status_code == 200 and valid.get_json()["email"] == owner


def test_counters_are_shared_by_every_app_on_the_database(make_app, tmp_path):
    """Two app objects (as two gunicorn workers) on one database see one count."""
    first = make_app()
    url = first.config["SQLALCHEMY_DATABASE_URI"]
    from tests.conftest import build_app

    second = build_app(url, tmp_path)
    with first.app_context():
        make_user("manager", email="shared@example.com")
    for n in range(5):
        app = first if n % 2 else second
        response = _attempt(app.test_client(), "shared@example.com", "wrong guess")
    assert response.status_code == 429
    with second.app_context():
        db.session.remove()
        db.engine.dispose()


def test_unknown_email_costs_as_much_as_a_wrong_password(make_app):
    """With the production hasher the dummy verification is as slow as a real one."""
    app = make_app(PASSWORD_HASH_FAST=False)
    with app.app_context():
        user_service.create_user(
            email="slow@example.com", name="Slow", role="manager", password=PASSWORD
        )

    def timed(email: str) -> float:
        with app.test_request_context():
            started = time.perf_counter()
            attempt = password_signin.authenticate(email, "wrong guess", f"10.3.{len(email)}.1")
            assert attempt.user is None
            return time.perf_counter() - started

    known = min(timed("slow@example.com") for _ in range(3))
    unknown = min(timed("nobody-here@example.com") for _ in range(3))
    assert unknown > 0.5 * known and known > 0.5 * unknown, (known, unknown)


def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(make_app):
    app = make_app(PROXY_FIX_X_FOR=1)
    client = app.test_client()

    def attempt(n: int, forwarded: str):
        form = client.get("/login")
        return client.post(
            "/login",
            data={
                "email": f"u{n}@example.com",
                "password": "x" * 12,
                "csrf_token": csrf_from(form.text),
            },
            headers={"X-Forwarded-For": forwarded},
        )

    statuses = [attempt(n, "203.0.113.7").status_code for n in range(20)]
    assert statuses[-1] == 429
    assert attempt(99, "203.0.113.8").status_code == 400  # another client behind the proxy


def test_without_trusted_proxies_forwarded_headers_are_ignored(app, client):
    for n in range(20):
        form = client.get("/login")
        response = client.post(
            "/login",
            data={
                "email": f"u{n}@example.com",
                "password": "x" * 12,
                "csrf_token": csrf_from(form.text),
            },
            headers={"X-Forwarded-For": f"198.51.100.{n}"},  # spoofed: all one real address
        )
    assert response.status_code == 429
