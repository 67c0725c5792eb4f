"""The metric charts and the scorecard in Chromium: light, dark, a 390 px phone, and print."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login, screenshot


def _open_llm(page, base: str) -> None:
    page.goto(f"{base}/dashboard")
    page.locator("[data-testid=engagement-row]").filter(has_text="LLM support").locator(
        "a.strong"
    ).click()
    page.wait_for_selector("[data-testid=evidence] svg.metric-chart")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_charts_draw_each_metric_with_a_text_alternative(live_server, page, scheme):
    page.emulate_media(color_scheme=scheme)
    login(page, live_server, "manager@example.com")
    _open_llm(page, live_server)
    charts = page.locator("[data-testid=evidence] svg.metric-chart")
    assert charts.count() == 4  # accuracy, deflection, latency, cost (the manager sees cost)
    for i in range(charts.count()):
        chart = charts.nth(i)
        box = chart.bounding_box()
        assert box["width"] > 200 and box["height"] > 60, box
        assert chart.get_attribute("aria-label").count(";") >= 2
        assert chart.locator("polyline.series").count() == 1
        assert chart.locator("path.target-step").count() >= 2
    deflection = page.locator("[data-testid=metric]").filter(has_text="Tickets deflected")
    assert deflection.locator("line.baseline").count() == 1
    suggested = page.locator("[data-testid^=suggested-]").all_inner_texts()
    assert "Missed" in suggested, suggested
    page.locator("#evidence").screenshot(path=str(screenshot(page, f"evidence-{scheme}")))


def test_a_provider_sees_no_cost_chart(live_server, page):
    login(page, live_server, "leo@quanta.example")
    page.goto(f"{live_server}/engagements")
    page.get_by_role("link", name="LLM support assistant").first.click()
    page.wait_for_selector("[data-testid=evidence] svg.metric-chart")
    names = page.locator("[data-testid=metric] figcaption strong").all_inner_texts()
    assert "Cost per 1,000 answers" not in names and "Tickets deflected" in names


def test_the_scorecard_reads_on_a_phone_and_prints_without_the_chrome(live_server, page):
    login(page, live_server, "manager@example.com")
    page.set_viewport_size({"width": 390, "height": 844})
    _open_llm(page, live_server)
    page.locator("[data-testid=scorecard-link]").click()
    page.wait_for_selector("[data-testid=scorecard]")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the scorecard scrolls sideways on a phone ({width}px)"
    rows = page.locator("[data-testid=scorecard] tr[data-status=not_met]")
    assert rows.filter(has_text="Tickets deflected").count() >= 1
    met = page.locator("[data-testid=scorecard] tr[data-status=met]")
    assert met.filter(has_text="Answer accuracy").count() >= 1
    screenshot(page, "scorecard-phone")
    page.emulate_media(media="print")
    assert page.locator(".topbar").is_hidden()
    assert page.locator("[data-testid=scorecard] table").first.is_visible()
