"""A refused shadow assignment in Chromium: what was typed is still in the fields, the form
is still open, and the message stands beside the field it is about."""

from __future__ import annotations

from tests.browser.conftest import ARTIFACTS, login


def test_a_refused_shadow_assignment_keeps_what_was_typed(live_server, page):
    login(page, live_server, "manager@example.com")
    page.goto(f"{live_server}/dashboard")
    page.locator("a:text-is('Demand forecasting pod')").first.click()
    page.goto(page.url + "/knowledge")
    page.locator("summary:text-is('Assign a shadow')").click()
    form = page.locator("[data-testid=shadow-form]")
    member = form.locator("select[name=member_id]")
    shadow = form.locator("input[name=shadow_id]")
    # the last choice of each, so a form that forgot them (first option) would show
    last_member = member.locator("option").last
    member_value = last_member.get_attribute("value")
    area_value = last_member.inner_text().rsplit("(", 1)[1].rstrip(")").split(", ")[-1]
    # the shadow is a person picker (issue 29): typing fills the page's one datalist from
    # /pickers/person, and the last suggestion is taken
    shadow.fill("example")
    suggestions = page.locator("#people-choices option")
    # A function, not an expression: Playwright evals an expression string in the page when
    # it has to poll, which the page's CSP (no 'unsafe-eval') refuses.
    page.wait_for_function("() => document.querySelectorAll('#people-choices option').length > 1")
    shadow_value = suggestions.last.get_attribute("value")
    assert shadow_value.endswith(">") and "@" in shadow_value, shadow_value
    member.select_option(member_value)
    shadow.fill(shadow_value)
    form.locator(f"input[name=areas][value='{area_value}']").check()  # one of that member's
    form.locator("input[name=start_date]").fill("2027-03-01")
    form.locator("input[name=end_date]").fill("2027-02-01")  # before the start: refused
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        form.locator("button[type=submit]").click()
    assert answer.value.status == 422
    # The answer is a new document: wait until it has replaced the old one (the response
    # alone can arrive while the old page is still the one shown).
    page.wait_for_url("**/knowledge/shadows")
    page.wait_for_load_state("load")
    form = page.locator("[data-testid=shadow-form]")
    assert form.is_visible(), "the form stays open after the refusal"
    assert form.locator("select[name=member_id]").input_value() == member_value
    assert form.locator("input[name=shadow_id]").input_value() == shadow_value
    assert form.locator(f"input[name=areas][value='{area_value}']").is_checked()
    assert form.locator("input[name=start_date]").input_value() == "2027-03-01"
    end = form.locator("input[name=end_date]")
    assert end.input_value() == "2027-02-01" and end.get_attribute("aria-invalid") == "true"
    message = form.locator(".field-error[data-field=end_date]")
    assert message.is_visible() and message.inner_text() == "Must not be before the start."
    described = end.get_attribute("aria-describedby")
    assert described and message.get_attribute("id") == described
    # beside the field: directly under the date input, inside its label
    field_box, message_box = end.bounding_box(), message.bounding_box()
    assert 0 <= message_box["y"] - (field_box["y"] + field_box["height"]) < 20
    form.screenshot(path=str(ARTIFACTS / "refused-shadow-form.png"))
