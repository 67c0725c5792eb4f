"""What the pages look like in a real browser: timeline labels apart, today in view on a phone."""

from __future__ import annotations

import itertools

from tests.browser.conftest import ARTIFACTS, login, screenshot


def _engagement_links(page, base: str) -> list[str]:
    page.goto(f"{base}/dashboard")
    links = page.locator("[data-testid=engagement-row] a.strong")
    return [links.nth(i).get_attribute("href") for i in range(links.count())]


def _overlap(a, b) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def test_no_two_timeline_labels_overlap_on_any_demo_engagement(live_server, page):
    login(page, live_server, "manager@example.com")
    hrefs = _engagement_links(page, live_server)
    assert len(hrefs) >= 6
    checked = 0
    for href in hrefs:
        page.goto(f"{live_server}{href}")
        page.wait_for_selector("[data-testid=timeline] svg")
        labels = page.locator("[data-testid=timeline] .milestone text")
        boxes = [labels.nth(i).bounding_box() for i in range(labels.count())]
        for a, b in itertools.combinations(boxes, 2):
            assert not _overlap(a, b), (href, a, b)
        checked += len(boxes) > 1
        if len(boxes) > 2:
            card = page.locator("#timeline")
            card.screenshot(path=str(ARTIFACTS / f"timeline-{href.rsplit('/', 1)[-1]}.png"))
    assert checked >= 3  # several pages have more than one milestone to keep apart
    # the legend pictures each status with its own shape
    assert page.locator(".legend-item svg.legend-mark").count() == 6


def test_on_a_phone_the_timeline_scrolls_and_opens_with_today_in_view(live_server, page):
    login(page, live_server, "manager@example.com")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/dashboard")
    page.locator("[data-testid=engagement-row]").filter(has_text="LLM support").locator(
        "a.strong"
    ).click()
    page.wait_for_selector("[data-testid=timeline] svg")
    wrap = page.locator("[data-testid=timeline]")
    sizes = wrap.evaluate("w => [w.scrollWidth, w.clientWidth, w.scrollLeft]")
    assert sizes[0] > sizes[1], "the timeline should scroll sideways, not shrink, on a phone"
    view = wrap.bounding_box()
    today = page.locator("[data-testid=timeline] .today line").bounding_box()
    assert view["x"] <= today["x"] <= view["x"] + view["width"], (view, today, sizes)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the page scrolls sideways on a phone ({width}px)"
    assert sizes[2] > 0, "today is past the first screenful, so the timeline starts scrolled"
    wrap.screenshot(
        path=str(screenshot(page, "timeline-phone").with_name("timeline-phone-crop.png"))
    )
