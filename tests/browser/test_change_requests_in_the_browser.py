"""Change request pages in Chromium (issue 31): light, dark and a 390 px phone; raising one
from the page where a direct edit was refused, and the owner approving it."""

from __future__ import annotations

import pytest

from tests.support.browser import login, screenshot

SIZES = [(1280, 900, "light"), (1280, 900, "dark"), (390, 844, "dark"), (390, 844, "light")]


def _open(page, base: str, title: str) -> str:
    page.goto(f"{base}/dashboard")
    page.locator(f"a:text-is('{title}')").first.click()
    page.wait_for_selector("[data-testid=change-requests-card]")
    return page.url


def _background(page) -> float:
    return page.evaluate(
        """() => { const c = getComputedStyle(document.body).backgroundColor;
          return c.match(/\\d+/g).slice(0, 3).map(Number).reduce((a, b) => a + b, 0) / 765; }"""
    )


def _fits(page, width: int) -> None:
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width


@pytest.mark.parametrize(("width", "height", "scheme"), SIZES)
def test_the_change_request_pages_read_on_every_screen(live_server, browser, width, height, scheme):
    context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
    context.set_default_timeout(15000)
    page = context.new_page()
    login(page, live_server, "manager@example.com")
    url = _open(page, live_server, "Demand forecasting pod")
    card = page.locator("[data-testid=change-requests-card]")
    assert "14" in card.locator("[data-testid=drift-line]").inner_text()
    assert card.locator("[data-testid=cr-state]").count() == 2
    _fits(page, width)
    page.goto(url + "/change-requests")
    assert page.locator("[data-testid=cr-row]").count() == 2
    assert page.locator("[data-testid=slip-days]").inner_text() == "14"
    _fits(page, width)
    bright = _background(page)
    assert (bright < 0.2) if scheme == "dark" else (bright > 0.8), (scheme, bright)
    screenshot(page, f"change-requests-{width}-{scheme}")
    waiting = page.locator("[data-testid=cr-row]", has=page.locator("text=Proposed"))
    waiting.locator("a").first.click()
    page.wait_for_selector("[data-testid=cr-changes]")
    assert page.locator("[data-testid=cr-changes] [data-testid=from]").first.inner_text() == "100"
    assert page.locator("[data-testid=cr-changes] [data-testid=to]").first.inner_text() == "60"
    assert page.locator("[data-testid=approve]").is_visible()  # Dana owns it; Priya raised it
    _fits(page, width)
    screenshot(page, f"change-request-{width}-{scheme}")
    page.goto(url + "/change-requests/new")
    assert page.locator("[data-testid=cr-choices] tbody tr").count() > 10
    _fits(page, width)
    screenshot(page, f"change-request-new-{width}-{scheme}")
    context.close()


def test_a_refused_edit_leads_to_a_request_that_the_owner_approves(live_server, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15000)
    page = context.new_page()
    login(page, live_server, "manager@example.com")
    url = _open(page, live_server, "Demand forecasting pod")
    page.goto(url + "/edit")
    cost = page.locator("input[name=monthly_cost]")
    cost.fill("45000")
    page.locator("[data-testid=engagement-form] button[type=submit]").click()
    page.wait_for_selector("[data-testid=raise-change-request]")
    assert page.locator("input[name=monthly_cost]").input_value() == "45000"  # kept
    page.locator("[data-testid=raise-change-request]").click()
    page.wait_for_selector("[data-testid=cr-choices]")
    page.locator("input[name='to:engagement:0:monthly_cost']").fill("45000")
    page.locator("textarea[name=why]").fill("A second data engineer for the backfill")
    page.locator("input[name=cost_delta_monthly]").fill("5000")
    page.locator("[data-testid=submit-change-request]").click()
    page.wait_for_selector("[data-testid=cr-changes]")
    assert page.locator("[data-testid=approve]").count() == 0  # not by whoever raised it
    request_url = page.url
    page.context.clear_cookies()
    login(page, live_server, "admin@example.com")
    page.goto(request_url)
    page.locator("[data-testid=approve]").click()
    page.wait_for_selector("[data-testid=decision]")
    assert "Approved" in page.locator("[data-testid=decision]").inner_text()
    page.goto(url)
    assert "45,000" in page.locator("[data-testid=cost]").inner_text()
    context.close()
