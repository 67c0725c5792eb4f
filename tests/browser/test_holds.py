"""A manager puts an engagement on hold, then resumes it and sees the dates moved on."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.browser.conftest import login, screenshot
from tracker.extensions import db
from tracker.models import Engagement

TITLE = "Demand forecasting pod"  # 40 days into its trial in the demo data


def _backdate_hold(app, days: int):
    """The hold began `days` ago (the live server's clock is the real one)."""
    with app.app_context():
        engagement = db.session.scalars(select(Engagement).where(Engagement.title == TITLE)).one()
        engagement.paused_at -= timedelta(days=days)
        trial_end = engagement.trial_end
        db.session.commit()
        db.session.remove()
    return trial_end


def test_a_manager_pauses_and_resumes_and_sees_the_new_dates(live, page):
    live_server = live.url
    login(page, live_server, "manager@example.com")
    page.goto(f"{live_server}/dashboard")
    page.locator(f"a:text-is('{TITLE}')").first.click()
    page.wait_for_selector("[data-testid=engagement-header]")
    page.locator("[data-testid=transition-put_on_hold]").click()
    page.fill("[name=t-put_on_hold-reason]", "Client budget freeze")
    page.locator("[data-testid=confirm-put_on_hold]").click()
    page.wait_for_selector("[data-testid=hold]")
    assert "Client budget freeze" in page.locator("[data-testid=hold]").inner_text()
    assert "On hold" in page.locator("[data-testid=engagement-header]").inner_text()
    screenshot(page, "hold-on-hold")

    trial_end = _backdate_hold(live.app, 21)
    page.reload()
    page.locator("[data-testid=transition-resume]").click()
    assert page.locator("[name=t-resume-shift_dates]").input_value() == "yes"
    page.locator("[data-testid=confirm-resume]").click()
    page.wait_for_selector("[data-testid=engagement-header]")
    assert page.locator("[data-testid=hold]").count() == 0
    dates = page.locator("#dates").inner_text()
    moved = trial_end + timedelta(days=21)
    assert f"{moved:%-d %b %Y}" in dates, dates
    screenshot(page, "hold-resumed")


def test_transition_controls_are_real_buttons_that_say_whether_they_are_open(live_server, page):
    login(page, live_server, "manager@example.com")
    page.goto(f"{live_server}/dashboard")
    page.locator(f"a:text-is('{TITLE}')").first.click()
    toggle = page.locator("[data-testid=transition-put_on_hold]")
    assert toggle.evaluate("el => el.tagName") == "BUTTON"
    assert page.locator("[data-testid=transitions] summary").count() == 0
    form = page.locator("#transition-form-put_on_hold")
    assert toggle.get_attribute("aria-expanded") == "false" and form.is_hidden()
    toggle.focus()
    page.keyboard.press("Enter")  # a keyboard opens it like a click
    assert toggle.get_attribute("aria-expanded") == "true" and form.is_visible()
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "false" and form.is_hidden()


def test_without_script_every_transition_form_is_shown(live_server, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        login(page, live_server, "manager@example.com")
        page.goto(f"{live_server}/dashboard")
        page.locator(f"a:text-is('{TITLE}')").first.click()
        page.wait_for_selector("[data-testid=engagement-header]")  # is_visible() does not wait
        assert page.locator("[data-testid=transition-put_on_hold]").is_hidden()
        assert page.locator("[data-testid=confirm-put_on_hold]").is_visible()
    finally:
        context.close()
