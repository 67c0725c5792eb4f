"""Fixtures for the page tests: signed-in users of each role and a CSRF-aware poster."""

from __future__ import annotations

import pytest

from tests.factories import make_user


@pytest.fixture
def sign_in(app, client, auth):
    """sign_in(role, provider=None) -> the user, signed in on `client`."""

    def factory(role: str, provider: str | None = None):
        with app.app_context():
            user = make_user(role, provider=provider)
            email, user_id = user.email, user.id
        if _signed_in(client):
            auth.logout()
        response = auth.login(email)
        assert response.status_code == 302, "sign-in failed"
        return user_id

    return factory


def _signed_in(client) -> bool:
    return client.get("/home").status_code == 200


@pytest.fixture
def post(client, auth):
    """post(url, data, prefix=None): a form POST with the session's CSRF token."""

    def send(url: str, data: dict | None = None, *, prefix: str | None = None, **kwargs):
        token_field = f"{prefix}-csrf_token" if prefix else "csrf_token"
        body = {token_field: auth.csrf(), **(data or {})}
        return client.post(url, data=body, **kwargs)

    return send
