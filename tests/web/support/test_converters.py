"""Hostile ids on every route: bounded converters answer 404, nothing answers 5xx."""

from __future__ import annotations

import re

import pytest

from tests.factories import add_member, add_milestone, make_engagement, make_user
from tracker.services.administration import users as user_service

HOSTILE_IDS = ("0", "-1", str(2**31), str(2**63), str(2**64), "abc")
_PLACEHOLDER = re.compile(r"<(?:[^:>]+:)?([^>]+)>")


@pytest.fixture
def walker(make_app):
    """An app without CSRF checks (so POSTs reach the view), with rows and two callers."""
    app = make_app(WTF_CSRF_ENABLED=False)
    with app.app_context():
        admin = make_user("admin")
        provider = make_user("provider", provider="Northwind ML")
        engagement = make_engagement(provider="Northwind ML")
        add_milestone(engagement)
        add_member(engagement)
        tokens = {
            "admin": user_service.create_token(admin, "walk")[1],
            "provider": user_service.create_token(provider, "walk")[1],
        }
        emails = {"admin": admin.email, "provider": provider.email}
    return app, tokens, emails


def _routes(app):
    """Every rule with a path argument, once per method it serves (HEAD/OPTIONS aside)."""
    for rule in app.url_map.iter_rules():
        if not rule.arguments:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule, method


def _url(rule, value: str) -> str:
    return _PLACEHOLDER.sub(lambda _m: value, rule.rule)


def _signed_in_client(app, email):
    from tests.conftest import AuthActions

    client = app.test_client()
    assert AuthActions(client).login(email).status_code == 302
    return client


@pytest.mark.parametrize("role", ["admin", "provider"])
def test_every_route_answers_hostile_ids_without_a_server_error(walker, role):
    app, tokens, emails = walker
    pages = _signed_in_client(app, emails[role])
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {tokens[role]}"}
    failures, walked = [], 0
    for rule, method in _routes(app):
        for value in HOSTILE_IDS:
            url = _url(rule, value)
            if url.startswith("/api/"):
                response = api.open(url, method=method, headers=bearer, json={})
            else:
                response = pages.open(url, method=method, data={})
            walked += 1
            if response.status_code >= 500:
                failures.append(f"{method} {url} -> {response.status_code}")
    assert walked > 300  # the walk really covered the routes
    assert failures == []


@pytest.mark.parametrize(
    "path",
    [
        "/engagements/99999999999999999999",
        "/engagements/0/knowledge",
        "/adrs/18446744073709551616",
        "/members/9223372036854775808/edit",
    ],
)
def test_page_ids_out_of_range_are_not_found(walker, path):
    app, _tokens, emails = walker
    assert _signed_in_client(app, emails["admin"]).get(path).status_code == 404


@pytest.mark.parametrize("page", ["/dashboard", "/engagements"])
@pytest.mark.parametrize("sort", ["-", "--title", "nope"])
def test_a_bad_sort_names_the_parameter(walker, page, sort):
    app, _tokens, emails = walker
    response = _signed_in_client(app, emails["admin"]).get(page, query_string={"sort": sort})
    assert response.status_code == 422
    assert "sort" in response.get_data(as_text=True)


HOSTILE_VALUES = ("-", "0", "-1", str(2**63), "abc", "x" * 500, "%00")


@pytest.mark.parametrize("page", ["/dashboard", "/engagements"])
@pytest.mark.parametrize("name", ["state", "health", "provider_id", "owner_id", "page", "per_page"])
def test_every_list_parameter_is_validated_and_named(walker, page, name):
    app, _tokens, emails = walker
    client = _signed_in_client(app, emails["admin"])
    for value in HOSTILE_VALUES:
        response = client.get(page, query_string={name: value})
        assert response.status_code == 422, (name, value, response.status_code)
        assert f"&#39;{name}&#39;" in response.text or f"'{name}'" in response.text


def test_outbox_and_export_parameters_are_validated(walker):
    app, _tokens, emails = walker
    client = _signed_in_client(app, emails["admin"])
    outbox = client.get("/admin/outbox", query_string={"status": "-"})
    assert outbox.status_code == 400 and "status" in outbox.text
    export = client.get("/engagements/1/knowledge/export", query_string={"profile": "-"})
    assert 400 <= export.status_code < 500 and "profile" in export.text
