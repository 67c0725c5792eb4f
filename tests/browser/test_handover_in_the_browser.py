"""Drills, the access register and the Exit summary in Chromium: light, dark and a 390 px phone."""

from __future__ import annotations

from datetime import date

import pytest

from tests.support.browser import login, screenshot

SIZES = [(1280, 900, "light"), (1280, 900, "dark"), (390, 844, "dark"), (390, 844, "light")]


def _open_handover(page, base: str) -> str:
    page.goto(f"{base}/dashboard")
    page.locator("a:text-is('Churn model handover')").first.click()
    page.wait_for_selector("[data-testid=exit-section]")
    return page.url


def _background(page) -> float:
    return page.evaluate(
        """() => { const c = getComputedStyle(document.body).backgroundColor;
          return c.match(/\\d+/g).slice(0, 3).map(Number).reduce((a, b) => a + b, 0) / 765; }"""
    )


@pytest.mark.parametrize(("width", "height", "scheme"), SIZES)
def test_exit_access_and_drills_read_on_every_screen(live_server, browser, width, height, scheme):
    context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
    context.set_default_timeout(15000)
    page = context.new_page()
    login(page, live_server, "manager@example.com")
    url = _open_handover(page, live_server)
    open_items = page.locator("[data-testid=exit-open] li")
    assert open_items.count() >= 3
    codes = {open_items.nth(i).get_attribute("data-code") for i in range(open_items.count())}
    assert {"area_without_passed_drill", "access_not_revoked", "access_not_verified"} <= codes
    assert page.locator("[data-testid=exit-open]").is_visible()
    entries = page.locator("[data-testid=access-entry]")
    states = {entries.nth(i).get_attribute("data-state") for i in range(entries.count())}
    assert states == {"open", "revoked", "verified"}
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    bright = _background(page)
    assert (bright < 0.2) if scheme == "dark" else (bright > 0.8), (scheme, bright)
    screenshot(page, f"handover-exit-{width}-{scheme}")
    page.goto(url + "/knowledge")
    drills = page.locator("[data-testid=drill]")
    assert drills.count() == 3
    assert (
        page.locator("[data-testid=drill][data-outcome=failed] [data-testid=follow-up]").count()
        == 1
    )
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    screenshot(page, f"handover-drills-{width}-{scheme}")
    context.close()


def test_revoke_in_place_then_a_drill_that_clears_its_area(live_server, page):
    login(page, live_server, "manager@example.com")
    url = _open_handover(page, live_server)
    open_entry = page.locator("[data-testid=access-entry][data-state=open]").first
    entry_id = open_entry.get_attribute("id").removeprefix("access-")
    open_entry.locator("input[name=note]").fill("Removed from the org")
    open_entry.locator(f"[data-testid=revoke-{entry_id}]").click()
    page.wait_for_selector(f"#access-{entry_id}[data-state=revoked]")
    assert page.locator(f"[data-testid=verify-by-someone-else-{entry_id}]").is_visible()
    page.goto(url + "/knowledge")
    failed = page.locator("[data-testid=drill][data-outcome=failed]")
    shadow = failed.locator("xpath=ancestor::article[1]")
    shadow.locator("summary:text-is('Record a drill')").click()
    form = shadow.locator("form[data-testid^=drill-form-]")
    form.locator("select[name=area]").select_option("training pipeline")
    form.locator("input[name=task]").fill("Retrain the churn model alone")
    form.locator("input[name=performed_on]").fill(date.today().isoformat())
    form.locator("select[name=outcome]").select_option("passed")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(
        "[data-testid=drill][data-outcome=passed] >> text=Retrain the churn model alone"
    )
    page.goto(url)
    codes = page.locator("[data-testid=exit-open] li")
    found = {codes.nth(i).get_attribute("data-code") for i in range(codes.count())}
    assert "area_without_passed_drill" not in found
    screenshot(page, "handover-after-drill")
