"""The demo digest end to end: queued, delivered to a real SMTP server, opened in Chromium."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.support.browser import ARTIFACTS
from tracker.core import clock
from tracker.extensions import db
from tracker.models import Subscription, User
from tracker.scheduling.tick import run_tick


def _deliver_demo_digests(app) -> None:
    """Seed the demo (which subscribes Stella and Priya) and tick once a week later."""
    from tracker.demo.seed import seed_demo
    from tracker.services.judgments.health import refresh_all

    with app.app_context():
        seed_demo()
        refresh_all()
        emails = {u.email for u in db.session.scalars(select(User).join(Subscription.user))}
        assert emails == {"stakeholder@example.com", "priya@northwind.example"}
        results = run_tick(clock.now() + timedelta(days=7, hours=1))
        assert results["digests"] == 2, results
        db.session.remove()


def _parts(message) -> dict[str, str]:
    return {p.get_content_type(): p.get_content() for p in message.walk() if not p.is_multipart()}


@pytest.mark.smtp
def test_real_smtp_server_receives_the_multipart_digest(make_app, smtp_server):
    app = make_app(**smtp_server.config())
    _deliver_demo_digests(app)
    messages = {m["To"]: m for m in smtp_server.messages if "digest" in m["Subject"]}
    assert set(messages) == {"stakeholder@example.com", "priya@northwind.example"}
    stella = messages["stakeholder@example.com"]
    assert stella.get_content_type() == "multipart/alternative"
    parts = _parts(stella)
    assert "Demand forecasting pod" in parts["text/plain"]
    assert "Demand forecasting pod" in parts["text/html"]
    assert (
        str(stella["List-Unsubscribe"]).strip().startswith("<http://localhost/digests/unsubscribe/")
    )
    assert stella["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert stella["Subject"].startswith("Engagement digest, ")
    priya = _parts(messages["priya@northwind.example"])
    for text in priya.values():
        if isinstance(text, str):
            assert "Quanta Labs" not in text
            # no cost line and no cost metric's figures; a business KPI counted in euros
            # (chargeback losses) is not the engagement's cost and may be shown
            assert "Cost:" not in text and not re.search(r"Cost per 1,000 \w+: \d", text)
            assert "Budget approved by finance" not in text


def test_html_digest_needs_nothing_remote(make_app):
    app = make_app()
    _deliver_demo_digests(app)
    with app.app_context():
        from tracker.models import OutboxEmail

        html = db.session.scalars(select(OutboxEmail.html_body)).first()
    assert "<style" not in html and "<link" not in html and "<img" not in html
    assert not re.search(r'src="https?:', html)


@pytest.mark.browser
@pytest.mark.smtp
def test_html_part_renders_in_chromium(make_app, smtp_server, browser):  # noqa: F811
    app = make_app(**smtp_server.config())
    _deliver_demo_digests(app)
    message = next(
        m
        for m in smtp_server.messages
        if m["To"] == "stakeholder@example.com" and "digest" in m["Subject"]
    )
    html = _parts(message)["text/html"]
    context = browser.new_context(viewport={"width": 720, "height": 900})
    requests: list[str] = []
    context.route("**/*", lambda route: (requests.append(route.request.url), route.abort()))
    page = context.new_page()
    page.set_content(html, wait_until="load")
    assert page.locator("text=Needing a decision").count() == 1
    assert page.locator("text=Demand forecasting pod").count() >= 1
    assert requests == []  # no remote images, fonts or stylesheets
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "digest-email.png"
    page.screenshot(path=str(path), full_page=True)
    context.close()
    assert path.stat().st_size > 10_000
