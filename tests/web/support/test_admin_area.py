"""The outbox and webhook admin pages do not exist for anyone but an admin: every GET and
POST answers a signed-in manager, provider or stakeholder exactly as /admin/nope does, and
their navigation links to none of them."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.factories import make_user
from tracker.extensions import db
from tracker.models import OutboxEmail, WebhookDelivery, WebhookEndpoint
from tracker.services.messaging import webhooks
from tracker.services.messaging.outbox import enqueue

BLUEPRINTS = ("admin_outbox.", "webhooks_admin.")  # /admin/outbox*, /admin/webhooks*, redeliver
CSRF = re.compile(r'(name="csrf-token" content="|name="csrf_token" value=")[^"]+')


def _objects(app) -> dict[str, int]:
    """One of everything the pages' URLs name, so each URL points at a real row."""
    app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = True
    with app.app_context():
        admin = make_user("admin")
        email = enqueue("hidden:1", "someone@example.com", "Subject", "body")
        email.status = "failed"
        endpoint = webhooks.create_endpoint(
            admin, {"url": "http://127.0.0.1:9/hook", "events": ["engagement.created"]}
        )
        webhooks._write(db.session.connection(), "engagement.created", {}, None, [endpoint.id])
        db.session.commit()
        delivery = db.session.scalars(select(WebhookDelivery.id)).one()
        return {"email_id": email.id, "endpoint_id": endpoint.id, "delivery_id": delivery}


def _state(app) -> tuple:
    with app.app_context():
        return (
            db.session.execute(select(OutboxEmail.id, OutboxEmail.status)).all(),
            db.session.execute(
                select(WebhookEndpoint.id, WebhookEndpoint.is_enabled, WebhookEndpoint.secret)
            ).all(),
            db.session.execute(
                select(WebhookDelivery.id, WebhookDelivery.status, WebhookDelivery.next_attempt_at)
            ).all(),
        )


def _routes(app, ids: dict[str, int]) -> list[tuple[str, str]]:
    """(method, url) for every GET and POST the two blueprints serve."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(BLUEPRINTS):
            url = rule.rule
            for name in rule.arguments:
                url = url.replace(f"<int:{name}>", str(ids[name]))
            routes += [(method, url) for method in ("GET", "POST") if method in rule.methods]
    return sorted(routes)


def _answer(response) -> tuple:
    """What a visitor can tell apart: status, type and the page (its CSRF token aside)."""
    page = CSRF.sub(r"\1…", response.get_data(as_text=True))
    return response.status_code, response.content_type, page


@pytest.mark.parametrize("role", ["manager", "provider", "stakeholder"])
def test_every_outbox_and_webhook_admin_url_answers_like_a_missing_page(
    app, client, sign_in, post, role
):
    ids = _objects(app)
    routes = _routes(app, ids)
    assert (
        len(routes) >= 12
        and ("POST", f"/admin/webhook-deliveries/{ids['delivery_id']}/redeliver") in routes
    )
    sign_in(role)
    home = client.get("/home").get_data(as_text=True)  # shows the sign-in flash
    assert "/admin/" not in home  # the navigation links to no admin page
    before = _state(app)
    missing = {"GET": _answer(client.get("/admin/nope")), "POST": _answer(post("/admin/nope"))}
    assert missing["GET"][0] == missing["POST"][0] == 404
    for method, url in routes:
        response = client.get(url) if method == "GET" else post(url)
        assert _answer(response) == missing[method], (method, url)
    assert _state(app) == before  # and nothing was done


def _variants(routes: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Each admin URL with the method it does not serve (405 territory)."""
    served: dict[str, set[str]] = {}
    for method, url in routes:
        served.setdefault(url, set()).add(method)
    methods = ("GET", "POST")
    return [(m, url) for url, ms in served.items() for m in methods if m not in ms]


@pytest.mark.parametrize("role", ["manager", "stakeholder"])
def test_wrong_methods_and_missing_csrf_tokens_answer_like_a_missing_page(
    app, client, sign_in, post, role
):
    """No 405 with an Allow header, no CSRF 400: those came before the blueprints' guard."""
    ids = _objects(app)
    routes = _routes(app, ids)
    wrong = _variants(routes)
    assert any(method == "GET" for method, _ in wrong)  # POST-only URLs exist
    sign_in(role)
    client.get("/home")  # shows the sign-in flash
    missing = {"GET": _answer(client.get("/admin/nope")), "POST": _answer(post("/admin/nope"))}
    for method, url in wrong:
        response = client.get(url) if method == "GET" else post(url)
        assert "Allow" not in response.headers, url
        assert _answer(response) == missing[method], (method, url)
    bare = _answer(client.post("/admin/nope"))  # no CSRF token at all
    for method, url in routes:
        if method == "POST":
            assert _answer(client.post(url)) == bare, url
    assert bare[0] == 404


def test_signed_out_visitors_are_sent_to_sign_in_whatever_the_admin_url(app, client):
    ids = _objects(app)
    urls = [url for _, url in _routes(app, ids)] + ["/admin/nope", "/admin"]
    for url in urls:
        for response in (client.get(url), client.post(url)):
            assert response.status_code == 302, url
            assert response.headers["Location"].startswith("/login?next="), url
