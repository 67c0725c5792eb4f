"""The password policy (ASVS 5.0 §6.2) wherever a password is chosen: CLI, service, pages."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import PASSWORD, make_user
from tracker.auth import password_policy
from tracker.demo.seed import DEMO_PASSWORD
from tracker.errors import ValidationFailed
from tracker.extensions import db
from tracker.models import User
from tracker.services.administration import users as user_service
from tracker.services.signin import password as password_signin

EMAIL, NAME = "dana.lee@example.com", "Dana Lee"


def test_the_shipped_list_has_at_least_ten_thousand_passwords():
    listed = password_policy.common_passwords()
    assert len(listed) >= 10_000
    assert {"password", "12345678", "qwerty", "iloveyou"} <= listed


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("password", "at least 12"),
        ("12345678", "at least 12"),
        ("aaaaaaaa", "at least 12"),
        ("aaaaaaaaaaaa", "common passwords"),
        ("abcabcabcabc", "common passwords"),
        ("password1234", "common passwords"),
        ("PASSWORD1234", "common passwords"),
        ("sunshine2024!!", "common passwords"),
        ("dana.lee@example.com", "email address or name"),
        ("my dana.lee is long", "email address or name"),
        ("Dana Lee forever!", "email address or name"),
        ("x" * 201, "at most 200"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(app, password, words):
    with app.app_context():
        found = password_policy.problems(password, email=EMAIL, name=NAME)
    assert any(words in message for message in found), found


@pytest.mark.parametrize(
    "password",
    [DEMO_PASSWORD, PASSWORD, "correct horse battery staple", "ça-ira-ça-ira-🚂", "no rules HERE"],
)
def test_long_uncommon_passwords_need_no_composition(app, password):
    with app.app_context():
        assert password_policy.problems(password, email=EMAIL, name=NAME) == []


def test_the_minimum_is_configurable(make_app):
    app = make_app(PASSWORD_MIN_LENGTH=16)
    with app.app_context():
        assert password_policy.problems("fifteen-chars-x", email=EMAIL) == [
            "Use at least 16 characters (a few words work well)."
        ]


@pytest.mark.parametrize("password", ["password", "12345678", "aaaaaaaa", "password1234"])
def test_users_create_refuses_weak_passwords(app, password):
    result = app.test_cli_runner().invoke(
        args=["users", "create", EMAIL, "--name", NAME, "--role", "manager"],
        input=f"{password}\n{password}\n",
    )
    assert result.exit_code == 1
    assert "password:" in result.output
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == EMAIL)) is None


def test_users_create_accepts_a_good_password(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create", EMAIL, "--name", NAME, "--role", "manager"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created manager" in result.output


def test_users_set_password_applies_the_policy(app):
    with app.app_context():
        make_user("manager", email=EMAIL, name=NAME)
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["users", "set-password", EMAIL], input="password1234\n" * 2)
    assert weak.exit_code == 1 and "common passwords" in weak.output
    good = runner.invoke(args=["users", "set-password", EMAIL], input="new-kettle-ocean-99\n" * 2)
    assert good.exit_code == 0, good.output
    with app.app_context():
        assert password_signin.authenticate(EMAIL, "new-kettle-ocean-99").user is not None


def test_the_service_refuses_a_weak_new_password(app):
    with app.app_context():
        user = make_user("manager", email=EMAIL, name=NAME)
        with pytest.raises(ValidationFailed) as refused:
            user_service.set_password(user, "password1234")
        assert "password" in refused.value.errors


def _change(client, auth, current, new, confirm=None):
    page = client.get("/account/password")
    assert page.status_code == 200
    from tests.conftest import csrf_from

    return client.post(
        "/account/password",
        data={
            "csrf_token": csrf_from(page.text),
            "current_password": current,
            "password": new,
            "confirm": confirm if confirm is not None else new,
        },
    )


def test_changing_my_password_through_the_page(app, client, auth):
    with app.app_context():
        make_user("manager", email=EMAIL, name=NAME)
    auth.login(EMAIL)
    weak = _change(client, auth, PASSWORD, "password1234")
    assert weak.status_code == 422 and "common passwords" in weak.text
    wrong = _change(client, auth, "not my password", "another-good-one-42")
    assert wrong.status_code == 422 and "not your current password" in wrong.text
    differ = _change(client, auth, PASSWORD, "another-good-one-42", "another-good-one-43")
    assert differ.status_code == 400 and "differ" in differ.text
    done = _change(client, auth, PASSWORD, "another-good-one-42")
    assert done.status_code == 302
    assert client.get("/dashboard").status_code == 200  # still signed in, on a new session
    auth.logout()
    assert auth.login(EMAIL, PASSWORD).status_code == 400
    assert auth.login(EMAIL, "another-good-one-42").status_code == 302


def test_demo_logins_meet_the_policy(app):
    from tracker.demo.seed import DEMO_USERS

    with app.app_context():
        for row in DEMO_USERS:
            assert (
                password_policy.problems(DEMO_PASSWORD, email=row["email"], name=row["name"]) == []
            )
