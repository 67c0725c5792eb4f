"""What the pages look like in a real browser: timeline labels apart, today in view on a phone."""

from __future__ import annotations

import itertools

from tests.browser.conftest import ARTIFACTS, login, screenshot
from tests.browser.test_csp import csp_server  # noqa: F401, F811  (a fixture)


def _engagement_links(page, base: str) -> list[str]:
    page.goto(f"{base}/dashboard")
    links = page.locator("[data-testid=engagement-row] a.strong")
    return [links.nth(i).get_attribute("href") for i in range(links.count())]


def _overlap(a, b) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def test_no_two_timeline_labels_overlap_on_any_demo_engagement(live_server, page):
    login(page, live_server, "manager@example.com")
    hrefs = _engagement_links(page, live_server)
    assert len(hrefs) >= 6
    checked = 0
    for href in hrefs:
        page.goto(f"{live_server}{href}")
        page.wait_for_selector("[data-testid=timeline] svg")
        labels = page.locator("[data-testid=timeline] .milestone text")
        boxes = [labels.nth(i).bounding_box() for i in range(labels.count())]
        for a, b in itertools.combinations(boxes, 2):
            assert not _overlap(a, b), (href, a, b)
        checked += len(boxes) > 1
        if len(boxes) > 2:
            card = page.locator("#timeline")
            card.screenshot(path=str(ARTIFACTS / f"timeline-{href.rsplit('/', 1)[-1]}.png"))
    assert checked >= 3  # several pages have more than one milestone to keep apart
    # the legend pictures each status with its own shape, "awaiting verdict", "overdue" and
    # a claim a measured target contradicts included (ADR 0190)
    assert page.locator(".legend-item svg.legend-mark").count() == 9


def test_on_a_phone_the_timeline_scrolls_and_opens_with_today_in_view(live_server, page):
    login(page, live_server, "manager@example.com")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/dashboard")
    page.locator("[data-testid=engagement-row]").filter(has_text="LLM support").locator(
        "a.strong"
    ).click()
    page.wait_for_selector("[data-testid=timeline] svg")
    wrap = page.locator("[data-testid=timeline]")
    sizes = wrap.evaluate("w => [w.scrollWidth, w.clientWidth, w.scrollLeft]")
    assert sizes[0] > sizes[1], "the timeline should scroll sideways, not shrink, on a phone"
    view = wrap.bounding_box()
    today = page.locator("[data-testid=timeline] .today line").bounding_box()
    assert view["x"] <= today["x"] <= view["x"] + view["width"], (view, today, sizes)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the page scrolls sideways on a phone ({width}px)"
    assert sizes[2] > 0, "today is past the first screenful, so the timeline starts scrolled"
    wrap.screenshot(
        path=str(screenshot(page, "timeline-phone").with_name("timeline-phone-crop.png"))
    )


def _contrast(page, selector: str) -> float:
    """WCAG contrast of the element's text colour against its own background."""
    return page.locator(selector).first.evaluate(
        """el => {
          const rgb = c => c.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
          const lum = c => { const v = rgb(c).map(x => x / 255).map(
              x => x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4));
            return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
          const s = getComputedStyle(el);
          const [a, b] = [lum(s.color), lum(s.backgroundColor)].sort((x, y) => y - x);
          return (a + 0.05) / (b + 0.05);
        }"""
    )


def _luminance_of_background(page) -> float:
    return page.evaluate(
        """() => { const c = getComputedStyle(document.body).backgroundColor;
          return c.match(/\\d+/g).slice(0, 3).map(Number).reduce((a, b) => a + b, 0) / 765; }"""
    )


def test_amber_badges_read_at_4_5_to_1_in_light_and_dark(live_server, browser):
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
        page = context.new_page()
        login(page, live_server, "manager@example.com")
        page.goto(f"{live_server}/dashboard")
        assert page.locator(".health-amber").count() >= 1
        assert _contrast(page, ".health-amber") >= 4.5, scheme
        bright = _luminance_of_background(page)
        assert (bright < 0.2) if scheme == "dark" else (bright > 0.8), (scheme, bright)
        screenshot(page, f"dashboard-{scheme}")
        context.close()


def test_the_skip_link_is_the_first_stop_and_lands_on_the_content(live_server, page):
    login(page, live_server, "manager@example.com")
    page.goto(f"{live_server}/dashboard")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to the content"
    box = page.locator(".skip-link").bounding_box()
    assert box["y"] >= 0  # shown when focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_on_a_phone_the_header_is_one_row_with_a_menu_button(live_server, page):
    login(page, live_server, "manager@example.com")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/dashboard")
    header = page.locator("header.topbar")
    button = page.locator("[data-testid=menu-button]")
    menu = page.locator("#site-menu")
    assert button.is_visible() and menu.is_hidden()
    assert header.bounding_box()["height"] < 64  # it wrapped to ~150 px before
    button.click()
    assert button.get_attribute("aria-expanded") == "true"
    assert page.locator("nav.nav a:text-is('Dashboard')").is_visible()
    button.click()
    assert menu.is_hidden()
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 390, width

    page.set_viewport_size({"width": 1280, "height": 900})
    assert button.is_hidden() and menu.is_visible()  # folded only on a phone


def test_on_a_phone_the_health_card_comes_before_the_lifecycle(live_server, page):
    login(page, live_server, "manager@example.com")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/dashboard")
    page.locator("a:text-is('Demand forecasting pod')").first.click()
    health = page.locator("#health").bounding_box()
    lifecycle = page.locator("#lifecycle").bounding_box()
    assert health["y"] + health["height"] <= lifecycle["y"], (health, lifecycle)
    page.set_viewport_size({"width": 1280, "height": 900})
    health = page.locator("#health").bounding_box()
    lifecycle = page.locator("#lifecycle").bounding_box()
    assert health["x"] > lifecycle["x"] and abs(health["y"] - lifecycle["y"]) < 2  # side by side


def test_the_knowledge_remove_control_reads_at_4_5_to_1(live_server, browser):
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
        page = context.new_page()
        login(page, live_server, "manager@example.com")
        removes = None
        for href in _engagement_links(page, live_server):
            page.goto(f"{live_server}{href}/knowledge")
            removes = page.locator("#artifacts button.link", has_text="remove")
            if removes.count():
                break
        assert removes is not None and removes.count() >= 1
        ratio = removes.first.evaluate(
            """el => {
              const rgb = c => c.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
              const lum = c => { const v = rgb(c).map(x => x / 255).map(
                  x => x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4));
                return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
              let bg = el, c = 'rgba(0, 0, 0, 0)';
              while (bg && (c = getComputedStyle(bg).backgroundColor).endsWith(', 0)')) {
                bg = bg.parentElement; }
              const [a, b] = [lum(getComputedStyle(el).color), lum(c)].sort((x, y) => y - x);
              return (a + 0.05) / (b + 0.05);
            }"""
        )
        assert ratio >= 4.5, (scheme, ratio)
        context.close()


def test_the_outbox_message_page_does_not_scroll_sideways(csp_server, page):  # noqa: F811
    _, base, _ = csp_server  # the demo after one tick: the outbox holds real emails
    login(page, base, "admin@example.com")
    page.goto(f"{base}/admin/outbox")
    links = page.locator("main a[href*='/admin/outbox/']")
    assert links.count() >= 1
    page.goto(base + links.first.get_attribute("href"))
    scroll = page.evaluate("[document.scrollingElement.scrollWidth, innerWidth]")
    assert scroll[0] <= scroll[1], scroll


def test_on_a_phone_the_lifecycle_is_a_list_with_the_current_state_marked(live_server, page):
    login(page, live_server, "manager@example.com")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/dashboard")
    page.locator("a:text-is('Demand forecasting pod')").first.click()
    page.wait_for_selector("[data-testid=engagement-header]")  # is_visible() does not wait
    steps = page.locator("[data-testid=state-steps]")
    assert steps.is_visible() and page.locator("[data-testid=diagram]").is_hidden()
    current = steps.locator("[aria-current=step]")
    assert current.count() == 1 and current.inner_text().startswith("Trial")
    size = current.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    assert size >= 14, size  # readable, where the scaled diagram's text was ~3 px
    page.set_viewport_size({"width": 1280, "height": 900})
    assert steps.is_hidden() and page.locator("[data-testid=diagram]").is_visible()


def test_form_cards_start_where_their_headings_start(live_server, page):
    """The invite form sat 126 px right of its "Invite a user" heading and the calendar's
    address block right of the page's: a form card lines up with the text above it."""
    login(page, live_server, "admin@example.com")
    for path, heading in (("/admin/users", "h2"), ("/calendar", "h1"), ("/tokens", "h1")):
        page.goto(f"{live_server}{path}")
        cards = page.locator("main .form-card")
        assert cards.count() >= 1, path
        left = page.locator(f"main {heading}").first.bounding_box()["x"]
        for i in range(cards.count()):
            card = cards.nth(i)
            if card.evaluate("el => getComputedStyle(el).display") == "inline":
                continue  # a button form sitting beside the one before it
            box = card.bounding_box()
            assert abs(box["x"] - left) <= 1, (path, i, box["x"], left)


def test_in_dark_mode_state_and_status_pills_are_dark_and_read_at_4_5_to_1(live_server, browser):
    """The state pills (Trial, Discovery, ...) and "Planned" were light pills glaring on
    the dark dashboard; in dark mode each is a dark tint whose text still reads."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    page = context.new_page()
    login(page, live_server, "manager@example.com")
    page.goto(f"{live_server}/dashboard")
    pills = page.locator("[data-testid=state], .status-planned")
    assert pills.count() >= 6
    for i in range(pills.count()):
        pill = pills.nth(i)
        shade = pill.evaluate(
            """el => getComputedStyle(el).backgroundColor.match(/\\d+/g).slice(0, 3)
                 .map(Number).reduce((a, b) => a + b, 0) / 765"""
        )
        assert shade < 0.35, (pill.inner_text(), shade)
    for selector in ("[data-testid=state]", ".status-planned"):
        assert _contrast(page, selector) >= 4.5, selector
    screenshot(page, "dashboard-phone-dark-pills")
    context.close()
