"""The dashboard's owner picker in Chromium: suggestions arrive as the user types (no list
of every owner in the page), and picking one filters the list to that owner."""

from __future__ import annotations

from tests.support.browser import login


def test_typing_an_owner_offers_names_and_picking_one_filters(live_server, page):
    login(page, live_server, "manager@example.com")
    page.goto(f"{live_server}/dashboard")
    picker = page.locator("[data-testid=owner-picker]")
    assert page.locator("#owner-choices option").count() == 0  # nothing inline
    owners = page.locator("[data-testid=engagement-row] td:last-child").all_inner_texts()
    assert owners, "the demo's dashboard has rows"
    first = owners[0].strip()
    fragment = first[:3].lower()
    picker.fill(fragment)
    # focusing asks for every owner first; typing narrows the suggestions to the fragment
    page.wait_for_function(
        """([name, part]) => {
          const values = [...document.querySelectorAll('#owner-choices option')].map(o => o.value);
          return values.includes(name) && values.every(v => v.toLowerCase().includes(part));
        }""",
        arg=[first, fragment],
    )
    picker.fill(first)
    picker.press("Enter")
    page.wait_for_url("**/dashboard?*owner=*")
    shown = page.locator("[data-testid=engagement-row] td:last-child").all_inner_texts()
    assert shown and {name.strip() for name in shown} == {first}
    assert picker.input_value() == first
