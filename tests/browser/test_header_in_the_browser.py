"""The header at a laptop's width: every role's main links on one row beside who is signed
in; an admin's pages on a labelled row of their own (twelve links in one row wrapped at
1280 px, Organisations under Dashboard)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login, screenshot

ROLES = {
    "admin": "admin@example.com",
    "manager": "manager@example.com",
    "provider": "priya@northwind.example",
    "stakeholder": "stakeholder@example.com",
}

_ROWS = """sel => new Set([...document.querySelectorAll(sel)]
    .map(a => Math.round(a.getBoundingClientRect().top))).size"""


@pytest.mark.parametrize("role", sorted(ROLES))
def test_at_1280_px_each_navigation_row_is_one_line(live_server, page, role):
    login(page, live_server, ROLES[role])
    page.goto(f"{live_server}/dashboard" if role != "provider" else f"{live_server}/my-milestones")
    assert page.evaluate(_ROWS, "nav.nav:not(.nav-admin) a") == 1
    main = page.locator("nav.nav:not(.nav-admin)").bounding_box()
    whoami = page.locator(".whoami").bounding_box()
    assert abs(main["y"] - whoami["y"]) < 12  # side by side, not pushed below
    admin = page.locator("[data-testid=admin-nav]")
    if role == "admin":
        assert page.evaluate(_ROWS, "nav.nav-admin a") == 1
        assert admin.locator("a").all_inner_texts() == [
            "Outbox", "Webhooks", "Users", "Organisations", "Audit export", "Workflows",
        ]  # fmt: skip
        assert admin.bounding_box()["y"] >= main["y"] + main["height"]
        screenshot(page, "header-admin-1280")
    else:
        assert admin.count() == 0
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 1280, width


def test_on_a_phone_the_admin_row_folds_into_the_menu(live_server, page):
    login(page, live_server, ROLES["admin"])
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/admin/users")
    admin = page.locator("[data-testid=admin-nav]")
    assert admin.is_hidden()
    page.locator("[data-testid=menu-button]").click()
    assert admin.locator("a:text-is('Users')").is_visible()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
