"""The engagement form's owner picker in Chromium (issue 29): no list of managers in the
page; typing part of a name fills the shared datalist from the server, and the picked
"Name <email>" is saved; a name nobody has is refused beside the field, what was typed kept."""

from __future__ import annotations

from tests.browser.conftest import login, screenshot

TITLE = "Vision QA for the packing line"
SAM = "Sam Okafor <manager2@example.com>"


def test_a_manager_picks_an_owner_by_typing_and_saves(live_server, page):
    login(page, live_server, "manager@example.com")
    page.goto(f"{live_server}/dashboard")
    page.locator(f"a:text-is('{TITLE}')").first.click()
    page.wait_for_selector("#milestones")
    page.goto(page.url.split("#")[0] + "/edit")
    owner = page.locator("[data-testid=owner-picker]")
    assert page.locator("#people-choices option").count() == 0  # nothing inline
    assert page.locator("select[name=owner_id]").count() == 0

    owner.fill("Nobody <nobody@example.com>")
    page.locator("button[type=submit].primary").click()
    page.wait_for_selector("[data-field=owner_id]")
    assert "from the list" in page.locator("[data-field=owner_id]").inner_text()
    assert owner.input_value() == "Nobody <nobody@example.com>"

    owner.fill("")
    owner.press_sequentially("okaf", delay=30)
    page.wait_for_function(
        """(label) => {
          const values = [...document.querySelectorAll('#people-choices option')].map(o => o.value);
          return values.length === 1 && values[0] === label;
        }""",
        arg=SAM,
    )
    # the contact picker shares the datalist: focusing it asks its own endpoint again
    contact = page.locator("[data-testid=contact-picker]")
    contact.fill("")
    contact.press_sequentially("Okafor", delay=30)
    page.wait_for_function(
        """(label) => [...document.querySelectorAll('#people-choices option')]
          .some(o => o.value === label)""",
        arg=SAM,
    )
    contact.fill("")
    owner.fill(SAM)
    screenshot(page, "engagement-form-owner-picker")
    page.locator("button[type=submit].primary").click()
    page.wait_for_selector("#milestones")  # saved: back on the engagement page
    page.goto(page.url.split("#")[0] + "/edit")
    assert page.locator("[data-testid=owner-picker]").input_value() == SAM
    assert page.locator("[data-testid=contact-picker]").input_value() == ""
