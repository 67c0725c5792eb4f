"""Browser journey: a manager takes the demo handover engagement through knowledge transfer."""

from __future__ import annotations

import pytest

from tests.support.browser import login, screenshot

pytestmark = pytest.mark.browser


def _open_engagement(page, base: str) -> str:  # noqa: F811
    page.goto(f"{base}/")
    page.click("text=Churn model handover")
    page.wait_for_selector("[data-testid=knowledge-panel]")
    return page.url


def test_manager_fills_every_knowledge_gap_and_closes(live_server, page):  # noqa: F811
    login(page, live_server, "manager@example.com")
    engagement_url = _open_engagement(page, live_server)
    unmet = page.locator("[data-testid=unmet-close] li")
    codes = {unmet.nth(i).get_attribute("data-code") for i in range(unmet.count())}
    assert {"kt_item_incomplete", "area_without_signed_off_shadow"} <= codes
    assert {"adr_still_proposed", "runbook_missing"} <= codes

    page.click("[data-testid=knowledge-link]")
    page.click("[data-testid=adr-table] a:has-text('Retrain monthly')")
    page.wait_for_selector("[data-testid=adr-title]")
    page.click("[data-testid=accept]")
    page.wait_for_selector("#readiness")
    while page.locator("[data-testid=sign-off]").count():
        page.locator("[data-testid=sign-off]").first.click()
        page.wait_for_selector("#readiness")
    # The runbook, and the walkthrough recordings: their checklist item is done from the data.
    for kind, title in (
        ("runbook", "Churn model on-call runbook"),
        ("recording", "Churn model walkthroughs"),
    ):
        form = page.locator("[data-testid=artifact-form]")
        form.locator("select[name=kind]").select_option(kind)
        form.locator("input[name=title]").fill(title)
        form.locator("input[name=url]").fill(f"https://wiki.example.com/churn/{kind}")
        form.locator("button[type=submit]").click()
        page.wait_for_selector(f"text={title}")
    assert page.locator("[data-testid=gap]").count() > 0  # the checklist is still open

    page.goto(engagement_url)
    buttons = page.locator("#checklist-knowledge_transfer [data-testid^=complete-]")
    while buttons.count():
        buttons.first.click()
        page.wait_for_selector("[data-testid=knowledge-panel]")
    assert page.locator("[data-testid=readiness-score]").inner_text() == "100"
    assert page.locator("[data-testid=unmet-close]").count() == 0
    page.click("[data-testid=transition-close]")
    page.click("[data-testid=confirm-close]")
    page.wait_for_selector("[data-testid=state]:text-is('Closed')")
    screenshot(page, "knowledge-closed")
