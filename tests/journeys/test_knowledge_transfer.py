"""Browser journey: a manager takes the demo handover engagement through knowledge transfer."""

from __future__ import annotations

from datetime import date

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

    _prove_the_handover(page, live_server, engagement_url)
    page.goto(engagement_url)
    buttons = page.locator("#checklist-knowledge_transfer [data-testid^=complete-]")
    while buttons.count():
        buttons.first.click()
        page.wait_for_selector("[data-testid=knowledge-panel]")
    assert page.locator("[data-testid=exit-clear]").is_visible()
    assert page.locator("[data-testid=readiness-score]").inner_text() == "100"
    assert page.locator("[data-testid=unmet-close]").count() == 0
    page.click("[data-testid=transition-close]")
    page.click("[data-testid=confirm-close]")
    page.wait_for_selector("[data-testid=state]:text-is('Closed')")
    screenshot(page, "knowledge-closed")


def _prove_the_handover(page, base: str, engagement_url: str) -> None:
    """The failed area drilled again and passed, every access revoked by Dana and verified
    by Sam (a second person), the exit confirmed (issue 30)."""
    page.goto(engagement_url + "/knowledge")
    failed = page.locator("[data-testid=drill][data-outcome=failed]")
    shadow = failed.locator("xpath=ancestor::article[1]")
    shadow.locator("summary:text-is('Record a drill')").click()
    form = shadow.locator("form[data-testid^=drill-form-]")
    form.locator("select[name=area]").select_option("training pipeline")
    form.locator("input[name=task]").fill("Retrain the churn model alone")
    form.locator("input[name=performed_on]").fill(date.today().isoformat())
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=Drill recorded.")
    page.goto(engagement_url)
    revoke = page.locator("[data-testid^=revoke-]")
    while revoke.count():
        revoke.first.click()
        page.wait_for_selector("text=Access revoked.")
    exit_form = page.locator("[data-testid=exit-form]")
    page.locator("summary:has-text('Record the exit confirmations')").click()
    exit_form.locator("select[name=data_disposition]").select_option("deleted")
    exit_form.locator("input[name=data_certificate_url]").fill("https://docs.example.com/del.pdf")
    exit_form.locator("input[name=artifacts_transferred_to]").fill("https://github.com/acme/churn")
    exit_form.locator("[data-testid=save-exit]").click()
    page.wait_for_selector("text=Exit confirmations saved.")
    page.context.clear_cookies()
    login(page, base, "manager2@example.com")
    page.goto(engagement_url)
    verify = page.locator("[data-testid^=verify-]:not([data-testid^=verify-by])")
    while verify.count():
        verify.first.locator("xpath=..").locator("input[name=how]").fill("checked the org list")
        verify.first.click()
        page.wait_for_selector("text=Revocation verified.")
