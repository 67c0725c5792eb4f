"""An admin invites a user in the browser; the invitation really travels by SMTP; the new
user opens the emailed link, sets a password and signs in; the link then works no more."""

from __future__ import annotations

import re
import threading

import pytest
from werkzeug.serving import make_server

from config import TestingConfig
from tests.conftest import _create_schema
from tests.support.browser import buffered, login, screenshot
from tracker import create_app
from tracker.extensions import db

NEW_EMAIL = "noor.new@example.com"
NEW_PASSWORD = "lantern orchard gravel 42"


@pytest.fixture
def mailing_server(tmp_path, smtp_server):
    """The demo served live, sending its email to the real aiosmtpd server."""
    from tracker.demo.seed import seed_demo

    url = f"sqlite:///{tmp_path / 'admin.db'}"
    _create_schema(url)
    app = create_app(
        TestingConfig, SQLALCHEMY_DATABASE_URI=url, MAIL_DIR=str(tmp_path / "mail"),
        **smtp_server.config(),
    )  # fmt: skip
    with app.app_context():
        seed_demo()
        db.session.remove()
    server = make_server("127.0.0.1", 0, buffered(app), threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = base  # links in emails point at this server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, base
    server.shutdown()
    thread.join(timeout=10)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _deliver(app) -> int:
    """What the scheduler's delivery step does on its next tick."""
    from tracker.core import clock
    from tracker.notifications.delivery import deliver_due

    with app.app_context():
        sent = deliver_due(clock.now())
        db.session.remove()
    return sent


@pytest.mark.smtp
def test_an_invited_user_sets_a_password_from_the_email_and_signs_in(
    mailing_server, smtp_server, browser
):
    app, base = mailing_server
    admin = browser.new_context(viewport={"width": 1280, "height": 900})
    page = admin.new_page()
    login(page, base, "admin@example.com")
    page.goto(f"{base}/admin/users")
    form = page.locator("[data-testid=invite-form]")
    form.locator("[name=email]").fill(NEW_EMAIL)
    form.locator("[name=name]").fill("Noor New")
    form.locator("[name=role]").select_option("manager")
    form.locator("[data-testid=invite]").click()
    page.wait_for_selector(".flash-success")
    assert f"Invitation emailed to {NEW_EMAIL}" in page.locator(".flash-success").inner_text()
    page.goto(f"{base}/admin/users")
    row = page.locator(f"[data-testid=user-row][data-email='{NEW_EMAIL}']")
    assert "Invited" in row.locator("[data-testid=user-status]").inner_text()
    screenshot(page, "admin-users-invited")
    admin.close()

    assert _deliver(app) >= 1
    [invitation] = [m for m in smtp_server.messages if m["To"] == NEW_EMAIL]
    assert invitation["Subject"] == "You are invited to Engagement Tracker"
    body = invitation.get_body(("plain",)).get_content()
    link = re.search(rf"{re.escape(base)}/password/set/\S+", body).group(0)

    newcomer = browser.new_context(viewport={"width": 390, "height": 844})
    page = newcomer.new_page()
    page.goto(link)
    assert page.locator("[data-testid=link-email]").inner_text() == NEW_EMAIL
    page.fill("[name=password]", NEW_PASSWORD)
    page.fill("[name=confirm]", NEW_PASSWORD)
    page.locator("[data-testid=set-password]").click()
    page.wait_for_url(re.compile(r".*/login.*"))
    page.fill("input[name=email]", NEW_EMAIL)
    page.fill("input[name=password]", NEW_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=role]", state="attached")
    assert page.locator("[data-testid=role]").inner_text() == "Manager"

    page.goto(link)  # single use: the same link is refused and changes nothing
    assert page.locator("[data-testid=link-refused]").is_visible()
    assert page.locator("[name=password]").count() == 0
    newcomer.close()
