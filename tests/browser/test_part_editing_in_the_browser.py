"""A manager edits a milestone and a checklist item on the engagement page and reads the
change in the audit trail."""

from __future__ import annotations

from datetime import date, timedelta

from tests.browser.conftest import ARTIFACTS, login, screenshot

# Under milestone review in the demo data: milestone edits are direct there (in a trial
# they need a change request, issue 31: the last test).
TITLE = "Vision QA for the packing line"
TRIAL = "Demand forecasting pod"  # 40 days into its trial


def _span(old: date, new: date) -> str:
    if old.year == new.year:
        return f"{old.day} {old:%b} → {new.day} {new:%b}"
    return f"{old.day} {old:%b %Y} → {new.day} {new:%b %Y}"


def test_a_manager_edits_a_milestone_and_a_checklist_item(live_server, page):
    login(page, live_server, "manager@example.com")
    page.goto(f"{live_server}/dashboard")
    page.locator(f"a:text-is('{TITLE}')").first.click()
    page.wait_for_selector("#milestones")

    link = page.locator("[data-testid^=open-edit-milestone-]").first
    milestone_id = link.get_attribute("data-testid").rsplit("-", 1)[1]
    link.click()  # the edit form is a page of its own (issue 29)
    page.wait_for_url(f"**/milestones/{milestone_id}/edit")
    title = page.locator(f"[name=edit{milestone_id}-title]").input_value()
    due_field = page.locator(f"[name=edit{milestone_id}-due_date]")
    old_due = date.fromisoformat(due_field.input_value())
    new_due = old_due + timedelta(days=14)
    due_field.fill(new_due.isoformat())
    page.locator(f"[data-testid=save-milestone-{milestone_id}]").click()
    page.wait_for_selector(f"#milestone-{milestone_id}")  # back on the engagement page
    card = page.locator(f"#milestone-{milestone_id}")
    assert f"due {new_due.day} {new_due:%b %Y}" in card.inner_text() or (
        new_due.isoformat() in card.inner_text()
    ), card.inner_text()
    trail = page.locator("[data-testid=audit]").inner_text()
    assert f"Due date of '{title}' {_span(old_due, new_due)}" in trail, trail

    item_link = page.locator("[data-testid^=open-edit-item-]").first
    item_id = item_link.get_attribute("data-testid").rsplit("-", 1)[1]
    item_link.click()  # the edit form is a page of its own (ADR 0200)
    page.wait_for_url(f"**/checklist/{item_id}/edit")
    item_title = page.locator(f"[name=item{item_id}-title]").input_value()
    page.fill(f"[name=item{item_id}-evidence]", "not a link")
    page.fill(f"[name=item{item_id}-note]", "Access granted for two of three")
    page.locator(f"[data-testid=save-item-{item_id}]").click()
    # refused: the form is shown again with the message and what was typed
    page.wait_for_selector(f"[data-field='item{item_id}-evidence']")
    assert page.locator(f"[name=item{item_id}-note]").input_value() == (
        "Access granted for two of three"
    )
    page.fill(f"[name=item{item_id}-evidence]", "https://tickets.example.com/IT-42")
    page.locator(f"[data-testid=save-item-{item_id}]").click()
    page.wait_for_selector(f"[data-testid=evidence-{item_id}]")
    row = page.locator(f"#checklist-{item_id}").inner_text()
    assert "Access granted for two of three" in row
    trail = page.locator("[data-testid=audit]").inner_text()
    assert f"Note of '{item_title}' set to 'Access granted for two of three'" in trail, trail
    screenshot(page, "part-editing")
    page.locator(f"[data-testid=open-edit-item-{item_id}]").click()
    page.wait_for_url(f"**/checklist/{item_id}/edit")
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#checklist-item-form").screenshot(path=str(ARTIFACTS / "part-editing-item.png"))


def test_in_a_trial_the_same_edit_is_refused_with_a_link_to_raise_a_change_request(
    live_server, page
):
    login(page, live_server, "manager@example.com")
    page.goto(f"{live_server}/dashboard")
    page.locator(f"a:text-is('{TRIAL}')").first.click()
    page.wait_for_selector("#milestones")
    link = page.locator("[data-testid^=open-edit-milestone-]").first
    milestone_id = link.get_attribute("data-testid").rsplit("-", 1)[1]
    link.click()
    page.wait_for_url(f"**/milestones/{milestone_id}/edit")
    due_field = page.locator(f"[name=edit{milestone_id}-due_date]")
    new_due = date.fromisoformat(due_field.input_value()) + timedelta(days=14)
    due_field.fill(new_due.isoformat())
    page.locator(f"[data-testid=save-milestone-{milestone_id}]").click()
    link = page.locator("[data-testid=raise-change-request]")
    link.wait_for()
    assert page.locator(f"[name=edit{milestone_id}-due_date]").input_value() == new_due.isoformat()
    link.click()
    page.wait_for_selector("[data-testid=cr-choices]")
