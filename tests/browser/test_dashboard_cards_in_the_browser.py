"""The dashboard's rows as cards on a phone (static/app.css): each cell's parts line up."""

from __future__ import annotations

from tests.browser.conftest import login


def test_on_a_phone_each_rows_readiness_bar_starts_under_its_figure(live_server, browser):
    """The card layout aligns the readiness cell left; its bar kept the table's right
    alignment and floated apart from the "0%" above it."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    login(page, live_server, "manager@example.com")
    page.goto(f"{live_server}/dashboard")
    figures = page.locator("[data-testid=readiness]")
    assert figures.count() >= 3
    for i in range(figures.count()):
        figure = figures.nth(i).bounding_box()
        bar = figures.nth(i).locator("xpath=following-sibling::*[1]").bounding_box()
        assert abs(bar["x"] - figure["x"]) < 2, (figure, bar)
    context.close()
