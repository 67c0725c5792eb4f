"""Device cookies (ADR 0193): the attacks as the probe runs them, and the rules behind them.

Every request here comes from one address (the test client's 127.0.0.1), as behind a
company's NAT: an attacker and the people they try to lock out share it.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from tests.conftest import AuthActions, csrf_from
from tests.factories import PASSWORD, make_user
from tracker.extensions import db
from tracker.models import AuditEvent, LoginThrottle, User
from tracker.services.administration import users as user_service
from tracker.services.exchange import calendar_feed
from tracker.services.signin import device as devices
from tracker.services.signin import throttle

OWNER = "manager@example.com"
SECOND = "second@example.com"


def _try(client, email, password):
    form = client.get("/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_from(form.text)},
    )


def _signed_in(response) -> bool:
    return response.status_code == 302 and "/login" not in response.headers["Location"]


@pytest.fixture
def people(app):
    with app.app_context():
        owner = make_user("manager", email=OWNER, name="Dana Lee")
        second = make_user("manager", email=SECOND, name="Sam Okafor")
        secret = user_service.create_token(owner, "probe")[1]
        return {"owner": owner.id, "second": second.id, "token": secret}


def _known_browser(app, email):
    """A browser that signed in as `email` once and signed out again."""
    browser = app.test_client()
    assert _signed_in(_try(browser, email, PASSWORD))
    assert browser.get_cookie(devices.COOKIE_NAME) is not None
    AuthActions(browser).logout()
    return browser


def test_forty_bad_tokens_then_a_valid_one_answers_200(app, client, people):
    bad = [
        client.get("/api/v1/me", headers={"Authorization": f"Bearer et_guess{n}"}).status_code
        for n in range(40)
    ]
    assert bad[:19] == [401] * 19 and set(bad[19:]) == {429}  # the flood is slowed
    valid = client.get("/api/v1/me", headers={"Authorization": f"Bearer {people['token']}"})
    assert valid.status_code == 200 and valid.get_json()["email"] == OWNER
    # …and the flood stays slowed after it: a valid token resets nothing.
    again = client.get("/api/v1/me", headers={"Authorization": "Bearer et_guess41"})
    assert again.status_code == 429


def test_twelve_wrong_passwords_lock_unknown_browsers_only(app, people):
    owner_browser = _known_browser(app, OWNER)
    second_browser = _known_browser(app, SECOND)
    attacker = app.test_client()
    statuses = [_try(attacker, OWNER, f"guess number {n}").status_code for n in range(12)]
    assert statuses[:4] == [400] * 4 and set(statuses[4:]) == {429}
    # The owner on the browser she signed in on before: signed in.
    assert _signed_in(_try(owner_browser, OWNER, PASSWORD))
    # An unknown browser with the right password: still refused, with the wait.
    stranger = app.test_client()
    refused = _try(stranger, OWNER, PASSWORD)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 60
    assert stranger.get_cookie(devices.COOKIE_NAME) is None
    # A second account from the same address, on its known browser: signed in.
    assert _signed_in(_try(second_browser, SECOND, PASSWORD))


def test_a_locked_address_refuses_unknown_browsers_but_not_known_ones(app, people):
    second_browser = _known_browser(app, SECOND)
    stuffer = app.test_client()
    statuses = [_try(stuffer, f"user{n}@example.com", "x" * 12).status_code for n in range(20)]
    assert statuses[-1] == 429  # credential stuffing from this address is slowed
    assert _try(app.test_client(), SECOND, PASSWORD).status_code == 429  # unknown browser
    assert _signed_in(_try(second_browser, SECOND, PASSWORD))


def test_a_bad_token_flood_does_not_slow_password_sign_ins(app, client, people):
    for n in range(40):
        client.get("/api/v1/me", headers={"Authorization": f"Bearer et_flood{n}"})
    assert _signed_in(_try(app.test_client(), SECOND, PASSWORD))  # even an unknown browser


def test_failures_on_a_known_browser_count_on_its_cookie_only(app, people):
    browser = _known_browser(app, OWNER)
    statuses = [_try(browser, OWNER, "my old password").status_code for _ in range(5)]
    assert statuses == [400, 400, 400, 400, 429]
    assert _try(browser, OWNER, PASSWORD).status_code == 429  # this browser waits…
    assert _signed_in(_try(app.test_client(), OWNER, PASSWORD))  # …nobody else does
    with app.app_context():
        scopes = db.session.scalars(select(LoginThrottle.scope)).all()
    assert scopes == ["device"]  # neither the account nor the address counted them


def test_a_cookie_vouches_only_for_its_own_account(app, people):
    browser = _known_browser(app, SECOND)
    attacker = app.test_client()
    for n in range(5):
        _try(attacker, OWNER, f"guess {n}")
    assert _try(browser, OWNER, PASSWORD).status_code == 429  # SECOND's cookie, OWNER's lock


def test_a_tampered_or_foreign_cookie_is_an_unknown_browser(app, people):
    browser = _known_browser(app, OWNER)
    value = browser.get_cookie(devices.COOKIE_NAME).value
    for n in range(5):
        _try(app.test_client(), OWNER, f"guess {n}")
    forged = app.test_client()
    forged.set_cookie(devices.COOKIE_NAME, value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert _try(forged, OWNER, PASSWORD).status_code == 429
    other_app_secret = app.test_client()
    with app.test_request_context():
        app.secret_key, saved = "another-secret", app.secret_key
        foreign = devices.issue(None, people["owner"])
        app.secret_key = saved
    other_app_secret.set_cookie(devices.COOKIE_NAME, foreign)
    assert _try(other_app_secret, OWNER, PASSWORD).status_code == 429
    copied = app.test_client()
    copied.set_cookie(devices.COOKIE_NAME, value)  # the genuine value still vouches
    assert _signed_in(_try(copied, OWNER, PASSWORD))


def test_entries_expire_and_the_cookie_keeps_the_last_five_accounts(app):
    with app.test_request_context():
        now = time.time()
        cookie = None
        for user_id in range(1, 8):
            cookie = devices.issue(cookie, user_id, now=now)
        kept = [u for u in range(1, 8) if devices.device_for(cookie, u, now=now)]
        assert kept == [3, 4, 5, 6, 7]
        later = now + app.config["DEVICE_COOKIE_DAYS"] * 86400 + 1
        assert devices.device_for(cookie, 7, now=later) is None
        assert devices.device_for("not a cookie", 7, now=now) is None
        assert devices.device_for(cookie, None, now=now) is None


def test_the_device_cookie_is_http_only_and_same_site(app, people):
    browser = app.test_client()
    response = _try(browser, OWNER, PASSWORD)
    header = next(
        h for h in response.headers.getlist("Set-Cookie") if h.startswith(devices.COOKIE_NAME)
    )
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert f"Max-Age={app.config['DEVICE_COOKIE_DAYS'] * 86400}" in header


def test_a_valid_calendar_feed_answers_from_a_flooded_address(app, client, people):
    with app.app_context():
        owner = db.session.get(User, people["owner"])
        url = calendar_feed.feed_url(calendar_feed.get_or_create_feed(owner))
    for n in range(40):
        client.get("/api/v1/me", headers={"Authorization": f"Bearer et_flood{n}"})
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    assert client.get(path).status_code == 200


def test_sign_ins_and_failures_are_audit_events(app, people):
    browser = app.test_client()
    _try(browser, OWNER, "wrong guess")
    _try(browser, OWNER, PASSWORD)
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.kind.in_(["signed_in", "sign_in_failed"]))
            .order_by(AuditEvent.id)
        ).all()
        rows = [(e.kind, e.actor_id, e.actor_label, e.engagement_id, e.data) for e in events]
    target = {"user_id": people["owner"], "email": OWNER, "address": "127.0.0.1"}
    assert rows == [
        ("sign_in_failed", None, "sign-in form", None, {**target, "browser": "unknown"}),
        ("signed_in", people["owner"], "Dana Lee", None, {**target, "browser": "unknown"}),
    ]


def test_the_users_page_shows_failures_and_the_refusal(app, people):
    with app.app_context():
        make_user("admin", email="root@example.com")
    attacker = app.test_client()
    for n in range(6):
        _try(attacker, OWNER, f"guess {n}")
    admin = app.test_client()
    AuthActions(admin).login("root@example.com")
    page = admin.get("/admin/users").text
    row = page.split(f'data-email="{OWNER}"')[1].split("</tr>")[0]
    # The sixth was refused while locked, without counting: five failures.
    assert "5 from unknown browsers" in row and "unknown browsers refused until" in row
    quiet = page.split(f'data-email="{SECOND}"')[1].split("</tr>")[0]
    assert "unknown browsers" not in quiet and ">none<" in quiet


def test_account_states_cost_one_query_for_any_number_of_users(app, people, query_counter):
    with app.test_request_context():
        for n in range(6):
            throttle.record_failure(f"u{n}@example.com", None)
        emails = [f"u{n}@example.com" for n in range(6)] + [OWNER]
        with query_counter() as counted:
            states = throttle.account_states(emails)
    assert counted.count == 1
    assert {e: s.failures for e, s in states.items()} == {f"u{n}@example.com": 1 for n in range(6)}


def test_token_creation_revocation_and_role_changes_are_audit_events(app, people):
    from tracker.services.administration import user_admin

    with app.app_context():
        admin = make_user("admin", email="root@example.com", name="Root")
        owner = db.session.get(User, people["owner"])
        token, _ = user_service.create_token(owner, "laptop")
        user_service.revoke_token(admin, token.id)
        user_service.revoke_token(admin, token.id)  # already revoked: nothing new
        user_admin.update_user(admin, owner.id, {"role": "stakeholder"})
        user_admin.update_user(admin, owner.id, {"name": "Dana L."})  # no role change
        kinds = ["token_created", "token_revoked", "role_changed"]
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.kind.in_(kinds)).order_by(AuditEvent.id)
        ).all()
        rows = [(e.kind, e.actor_id, e.engagement_id, e.data) for e in events]
        owner_id, admin_id, token_id, prefix = owner.id, admin.id, token.id, token.prefix
    token_data = {"user_id": owner_id, "token_id": token_id, "name": "laptop", "prefix": prefix}
    assert [r[:3] for r in rows] == [
        ("token_created", owner_id, None),  # the fixture's "probe" token came first
        ("token_created", owner_id, None),
        ("token_revoked", admin_id, None),
        ("role_changed", admin_id, None),
    ]
    assert rows[1][3] == rows[2][3] == token_data  # never the secret
    assert rows[3][3]["from"] == "manager" and rows[3][3]["to"] == "stakeholder"
    assert rows[3][3]["user_id"] == owner_id


def test_wrong_current_passwords_on_a_known_browser_slow_only_that_browser(app, people):
    browser = app.test_client()
    assert _signed_in(_try(browser, OWNER, PASSWORD))

    def change(current: str):
        token = csrf_from(browser.get("/account/password").text)
        new = "a brand new harbour lantern"
        return browser.post(
            "/account/password",
            data={
                "current_password": current,
                "password": new,
                "confirm": new,
                "csrf_token": token,
            },
        )

    statuses = [change("not my password").status_code for _ in range(5)]
    assert statuses == [422, 422, 422, 422, 429]
    with app.app_context():
        assert db.session.scalars(select(LoginThrottle.scope)).all() == ["device"]
    assert _signed_in(_try(app.test_client(), OWNER, PASSWORD))  # the account is not locked
