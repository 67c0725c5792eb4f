"""Integrations in a real browser: copy the calendar URL, download a filtered CSV, register
a webhook and see its delivery in the log."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from standardwebhooks.webhooks import Webhook

from tests.browser.conftest import login, screenshot
from tests.support.webhooks import Receiver
from tracker.core import clock
from tracker.extensions import db


def test_manager_copies_the_calendar_url(live_server, page):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    login(page, live_server, "manager@example.com")
    page.click("nav >> text=Calendar")
    url = page.input_value("[data-testid=calendar-url]")
    assert url.startswith("http") and url.endswith(".ics")
    page.click("[data-testid=copy-calendar-url]")
    page.wait_for_selector("text=Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == url
    screenshot(page, "calendar-page")


def test_manager_downloads_the_dashboard_csv_with_a_filter(live_server, page):
    login(page, live_server, "manager@example.com")
    page.goto(f"{live_server}/dashboard")
    page.select_option("select[name=health]", "green")
    page.wait_for_url("**health=green**")
    with page.expect_download() as info:
        page.click("[data-testid=download-csv]")
    raw = Path(info.value.path()).read_bytes()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows and {row["health"] for row in rows} == {"green"}


def test_admin_registers_a_webhook_and_sees_the_delivery(live, page):
    live_server = live.url
    live.app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = True  # the receiver is on loopback
    receiver = Receiver()
    try:
        login(page, live_server, "admin@example.com")
        page.click("nav >> text=Webhooks")
        page.fill("input[name=url]", receiver.url)
        page.check("input[value='engagement.transitioned']")
        page.click("[data-testid=create-webhook]")
        secret = page.inner_text("[data-testid=webhook-secret]")
        assert secret.startswith("whsec_")
        page.click("[data-testid=send-test]")
        page.wait_for_selector("text=Test event queued")
        with live.app.app_context():  # the scheduler's step, as `flask scheduler tick` runs it
            from tracker.notifications.webhook_delivery import deliver_due

            assert deliver_due(clock.now()) == 1
            db.session.remove()
        page.reload()
        assert page.inner_text("[data-testid=delivery-status]") == "delivered"
        screenshot(page, "webhook-delivery-log")
    finally:
        receiver.stop()
    request = receiver.requests[0]
    assert Webhook(secret).verify(request["body"], request["headers"])["type"] == "webhook.test"
