"""What a manager reads agrees with itself: an overdue item is never shown beside Green.

On the demo, "Demand forecasting pod" has the milestone "Feature pipeline in
staging" two days past due and still "On track": the dashboard, the engagement
page and the stakeholder's digest must all say Amber, with that reason. A new
engagement, with nothing recorded, shows readiness 0%.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import login, screenshot
from tests.browser.test_journeys import _create_engagement

TITLE = "Demand forecasting pod"
LATE = "Feature pipeline in staging"


def _row(page, title: str):
    return page.locator("[data-testid=engagement-row]", has=page.locator(f"a:text-is('{title}')"))


def test_an_overdue_on_track_milestone_is_amber_on_the_dashboard_and_the_page(live_server, page):
    login(page, live_server, "manager@example.com")
    page.goto(f"{live_server}/dashboard")
    row = _row(page, TITLE)
    assert row.locator("[data-testid=health]").inner_text().strip() == "Amber"
    row.locator("details.reasons summary").click()
    reasons = row.locator("details.reasons li").all_inner_texts()
    assert any(LATE in r and "has no verdict" in r for r in reasons), reasons
    assert int(row.locator(".overdue-count").inner_text()) >= 1
    assert row.locator("[data-testid=status]").inner_text() == "Overdue — no verdict"

    row.locator(f"a:text-is('{TITLE}')").click()
    page.wait_for_selector("[data-testid=engagement-header]")
    health = page.locator("#health [data-testid=health]")
    assert health.inner_text().strip() == "Amber"
    reason = page.locator("[data-testid=health-reasons] li[data-code=milestone_overdue]")
    assert LATE in reason.inner_text()
    href = reason.locator("a").get_attribute("href")
    milestone = page.locator(href)
    assert "is-overdue" in milestone.get_attribute("class")
    # the provider's "on track" is shown as a dated claim, never as the status badge
    assert milestone.locator("[data-testid=status]").inner_text() == "Overdue — no verdict"
    assert (
        milestone.locator("[data-testid=claim]").inner_text().startswith("Provider said On track")
    )
    # the page shows an overdue item, so nothing on it may say Green
    assert page.locator(".health-green").count() == 0
    screenshot(page, "judgments-overdue-is-amber")


@pytest.mark.smtp
def test_the_digest_says_amber_with_the_reason_next_to_the_overdue_block(
    make_app, smtp_server, browser
):
    from tests.journeys.test_digest_delivery import _deliver_demo_digests, _parts

    app = make_app(**smtp_server.config())
    _deliver_demo_digests(app)
    message = next(
        m
        for m in smtp_server.messages
        if m["To"] == "stakeholder@example.com" and "digest" in m["Subject"]
    )
    parts = _parts(message)
    text = parts["text/plain"]
    section = text.split(f"{TITLE} [")[1].split("-----")[0]
    assert section.startswith("AMBER]")
    assert re.search(rf"Milestone '{LATE}' was due .* has no verdict", section)
    assert "OVERDUE" in section.upper() and LATE in section
    context = browser.new_context(viewport={"width": 720, "height": 900})
    page = context.new_page()
    page.set_content(parts["text/html"], wait_until="load")
    card = page.locator("td[style*='border-left']", has=page.locator(f"a:text-is('{TITLE}')"))
    shown = card.inner_text().lower()  # the headings are upper-cased by their style
    assert "why amber" in shown and LATE.lower() in shown and "overdue" in shown
    assert "green" not in shown
    context.close()


def test_a_new_engagement_shows_readiness_zero(live_server, page):
    login(page, live_server, "manager@example.com")
    _create_engagement(page, live_server, "Nothing recorded yet")
    assert page.locator("[data-testid=readiness-score]").first.inner_text().strip() == "0"
    adrs = page.locator("[data-testid=readiness-adrs]").first.inner_text()
    assert "None recorded yet" in adrs
    page.goto(f"{live_server}/dashboard?sort=title")
    row = _row(page, "Nothing recorded yet")
    assert row.locator("[data-testid=readiness]").inner_text().strip() == "0%"
