"""The lifecycle diagram at laptop width, measured from Chromium's layout: no edge label
meets another or a state box, and no text in it is drawn under 11 CSS px."""

from __future__ import annotations

import itertools

from tests.browser.conftest import ARTIFACTS, login

# Per drawn diagram: label blocks, state boxes, and each text's size in CSS px (its
# font-size times the scale the page draws the SVG at).
MEASURE = """() => [...document.querySelectorAll('[data-testid=diagram] svg')].map(svg => {
  const box = el => { const r = el.getBoundingClientRect();
                      return {x: r.x, y: r.y, width: r.width, height: r.height}; };
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  return {
    labels: [...svg.querySelectorAll('g.edge-label')].map(g => [g.textContent, box(g)]),
    states: [...svg.querySelectorAll('g.state > rect:first-of-type')].map(box),
    sizes: [...svg.querySelectorAll('text')].map(
      t => [t.textContent, parseFloat(t.getAttribute('font-size')) * scale]),
    scrolls: svg.parentElement.scrollWidth > svg.parentElement.clientWidth,
  };
})"""


def _meet(a, b) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def test_lifecycle_labels_never_collide_and_read_at_11_px_on_a_laptop(live_server, page):
    login(page, live_server, "manager@example.com")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server}/dashboard")
    links = page.locator("[data-testid=engagement-row] a.strong")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert len(hrefs) >= 6
    titles = set()
    for href in hrefs:
        page.goto(f"{live_server}{href}")
        page.wait_for_selector("[data-testid=diagram] svg")
        (drawn,) = page.evaluate(MEASURE)
        titles.add(page.locator("[data-testid=diagram] svg > title").text_content())
        assert len(drawn["labels"]) >= 5, href
        for (text_a, a), (text_b, b) in itertools.combinations(drawn["labels"], 2):
            assert not _meet(a, b), (href, text_a, text_b, a, b)
        for (text, label), state in itertools.product(drawn["labels"], drawn["states"]):
            assert not _meet(label, state), (href, text, label, state)
        small = [(text, round(size, 2)) for text, size in drawn["sizes"] if size < 11]
        assert not small, (href, small)
        assert not drawn["scrolls"], "at 1280 px the diagram fits its card"
    assert titles  # the demo's engagements are on one workflow; the unit test covers all
    page.locator("#lifecycle").screenshot(path=str(ARTIFACTS / "lifecycle-1280.png"))
