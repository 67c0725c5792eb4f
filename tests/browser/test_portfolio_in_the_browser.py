"""The portfolio and a provider's record in Chromium: light, dark and a 390 px phone."""

from __future__ import annotations

import pytest

from tests.support.browser import login, screenshot

SIZES = [(1280, 900, "light"), (1280, 900, "dark"), (390, 844, "dark"), (390, 844, "light")]


def _brightness(page, selector: str = "body") -> float:
    return page.evaluate(
        """(selector) => {
          const c = getComputedStyle(document.querySelector(selector)).backgroundColor;
          return c.match(/\\d+/g).slice(0, 3).map(Number).reduce((a, b) => a + b, 0) / 765; }""",
        selector,
    )


@pytest.fixture
def screen(browser, request):
    width, height, scheme = request.param
    context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
    context.set_default_timeout(15000)
    yield context.new_page(), width, scheme
    context.close()


@pytest.mark.parametrize("screen", SIZES, indirect=True, ids=lambda s: f"{s[0]}-{s[2]}")
def test_the_portfolio_reads_on_every_screen(live_server, screen):
    page, width, scheme = screen
    login(page, live_server, "manager@example.com")
    page.goto(f"{live_server}/portfolio")
    charts = page.locator("svg.portfolio-chart")
    assert charts.count() == 3
    for i in range(3):
        box = charts.nth(i).bounding_box()
        assert box["width"] > 200 and box["x"] + box["width"] <= width, box
        if scheme == "dark":  # drawn on the dark card, not on white paper
            paper = charts.nth(i).evaluate("e => getComputedStyle(e).backgroundColor")
            assert paper == "rgba(0, 0, 0, 0)", paper
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    bright = _brightness(page)
    assert (bright < 0.2) if scheme == "dark" else (bright > 0.8), (scheme, bright)
    page.locator("[data-testid=portfolio-health] summary").click()
    assert page.locator("[data-testid=health-table] tbody tr").count() == 27
    screenshot(page, f"portfolio-{width}-{scheme}")
    # the filters land in the URL: a shareable view
    page.goto(f"{live_server}/portfolio")
    page.select_option("select[name=state]", "trial")
    page.locator("[data-testid=portfolio-filters] button[type=submit]").click()
    page.wait_for_url("**/portfolio?*state=trial*")
    assert page.locator("select[name=state]").input_value() == "trial"


@pytest.mark.parametrize("screen", SIZES, indirect=True, ids=lambda s: f"{s[0]}-{s[2]}")
def test_a_record_s_numbers_lead_to_the_engagements_behind_them(live_server, screen):
    page, width, scheme = screen
    login(page, live_server, "manager@example.com")
    page.goto(f"{live_server}/providers")
    page.locator("a:text-is('Northwind ML')").click()
    page.wait_for_selector("[data-testid=provider-record]")
    assert page.locator("[data-testid=record-cost]").is_visible()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    screenshot(page, f"provider-record-{width}-{scheme}")
    page.locator("a[data-testid=figure-staff_changes]").click()
    page.wait_for_selector("[data-testid=behind]")
    rows = page.locator("[data-testid=behind] tbody tr")
    assert rows.count() == 1 and "Demand forecasting pod" in rows.first.inner_text()


def test_a_provider_reaches_its_own_record_without_cost_and_no_portfolio(live_server, page):
    login(page, live_server, "priya@northwind.example")
    page.goto(f"{live_server}/providers")
    page.wait_for_selector("[data-testid=provider-record]")
    assert "Northwind ML" in page.locator("h1").inner_text()
    assert page.locator("[data-testid=record-cost]").count() == 0
    assert page.locator("text=Quanta Labs").count() == 0
    response = page.goto(f"{live_server}/portfolio")
    assert response.status == 404
