"""Sign-in, sign-out, CSRF, safe redirects, cookie flags."""

import pytest

from tests.conftest import csrf_from
from tests.factories import PASSWORD, make_user


@pytest.fixture
def manager(app):
    with app.app_context():
        user = make_user("manager", email="dana@example.com")
        return user.email


def test_login_succeeds_and_redirects_home(auth, manager):
    response = auth.login(manager)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/")


@pytest.mark.parametrize("email", ["dana@example.com", "nobody@example.com"])
def test_wrong_password_or_unknown_user_get_the_same_generic_message(auth, manager, email):
    response = auth.login(email, "wrong-password")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Email or password is not correct." in html
    assert "no such user" not in html.lower()


def test_login_without_csrf_token_is_refused(client, manager):
    response = client.post("/login", data={"email": manager, "password": PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/home", "/home"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
    ],
)
def test_next_redirect_is_followed_only_when_same_site(client, manager, next_url, expected):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        f"/login?next={next_url}",
        data={"email": manager, "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_protected_page_redirects_to_login_with_next(client):
    response = client.get("/home")
    assert response.status_code == 302
    assert "/login?next=/home" in response.headers["Location"]


def test_logout_ends_the_session_even_for_a_replayed_cookie(app, auth, manager):
    auth.login(manager)
    assert auth.client.get("/home").status_code == 200
    stolen = auth.client.get_cookie("session").value
    auth.logout()
    assert auth.client.get("/home").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    assert replay.get("/home").status_code == 302


def test_remember_cookie_is_httponly_and_lax(client, manager):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        data={"email": manager, "password": PASSWORD, "remember": "y", "csrf_token": token},
    )
    cookies = response.headers.getlist("Set-Cookie")
    remember = next(c for c in cookies if c.startswith("remember_token="))
    session = next(c for c in cookies if c.startswith("session="))
    for cookie in (remember, session):
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_passwords_are_stored_with_argon2id(app, manager):
    from tracker.auth.passwords import _STRONG
    from tracker.models import User

    with app.app_context():
        from tracker.extensions import db

        user = db.session.query(User).filter_by(email=manager).one()
        assert user.password_hash.startswith("$argon2id$")
    assert _STRONG.memory_cost >= 64 * 1024 and _STRONG.time_cost >= 3


def test_signed_in_page_shows_user_and_role(auth, manager):
    auth.login(manager)
    html = auth.client.get("/home").get_data(as_text=True)
    assert "Manager" in html and 'data-testid="role"' in html
