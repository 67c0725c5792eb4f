"""Dark mode: the server-drawn pictures sit on the dark card instead of white paper (the
timeline and the readiness bar were white rectangles on a dark page); every mark keeps
>= 3:1 against the card and every text >= 4.5:1 (static/app.css)."""

from __future__ import annotations

from tests.browser.conftest import login, screenshot

# For each element matching the selector: [contrast against the card's background of
# its fill or its stroke, whichever reads better, and its fill's luminance].
_MEASURE = """([selector, paint]) => {
  const rgb = c => (c.match(/\\d+(\\.\\d+)?/g) || [255, 255, 255]).slice(0, 3).map(Number);
  const lum = c => { const v = rgb(c).map(x => x / 255).map(
      x => x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4));
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  const card = lum(getComputedStyle(document.querySelector('.card, table')).backgroundColor);
  return [...document.querySelectorAll(selector)].map(el => {
    const s = getComputedStyle(el);
    const ratio = c => { const [a, b] = [lum(c), card].sort((x, y) => y - x);
      return Math.round((a + 0.05) / (b + 0.05) * 100) / 100; };
    // a hollow mark is drawn by its outline: the better-contrasting paint is the mark
    const paints = [s[paint], s.stroke].filter(c => c && c !== 'none');
    const best = paints.sort((x, y) => ratio(y) - ratio(x))[0];
    return [ratio(best), lum(s[paint] === 'none' ? best : s[paint]), el.outerHTML.slice(0, 80)];
  });
}"""


def _measure(page, selector: str, paint: str = "fill") -> list:
    found = page.evaluate(_MEASURE, [selector, paint])
    assert found, f"nothing matches {selector}"
    return found


def _background_luminance(page, selector: str) -> float:
    return page.locator(selector).first.evaluate(
        """el => { const c = getComputedStyle(el).backgroundColor;
          const v = (c.match(/\\d+(\\.\\d+)?/g) || []).map(Number);
          if (v.length === 4 && v[3] === 0) return 0;  // transparent: the card shows
          return v.slice(0, 3).reduce((a, b) => a + b, 0) / 765; }"""
    )


def _engagement(page, live_server, title: str) -> None:
    page.goto(f"{live_server}/dashboard")
    page.click(f"a:text-is('{title}')")
    page.wait_for_selector("[data-testid=timeline]")


def test_in_dark_mode_the_timeline_is_drawn_on_the_card(live_server, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="dark")
    page = context.new_page()
    login(page, live_server, "manager@example.com")
    _engagement(page, live_server, "LLM support assistant")
    assert _background_luminance(page, "svg.timeline") < 0.2
    assert _background_luminance(page, ".legend-mark") < 0.2
    for contrast, _, html in _measure(page, "svg.timeline text"):
        assert contrast >= 4.5, html
    for _, luminance, html in _measure(page, "svg.timeline .span rect"):
        assert luminance < 0.1, html  # a dark tint, not a pastel bar
    for contrast, _, html in _measure(
        page, "svg.timeline .milestone :is(circle, polygon, rect, path)"
    ):
        assert contrast >= 3, html
    for contrast, _, html in _measure(page, ".legend-mark :is(circle, polygon, rect, path)"):
        assert contrast >= 3, html
    assert _background_luminance(page, ".progress .bar") < 0.3  # the period's track (light: 0.9)
    page.locator("[data-testid=timeline]").screenshot(
        path=str(screenshot(page, "timeline-dark").with_name("timeline-dark-crop.png"))
    )
    context.close()


def test_in_dark_mode_the_readiness_bars_are_drawn_on_the_card(live_server, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="dark")
    page = context.new_page()
    login(page, live_server, "manager@example.com")
    page.goto(f"{live_server}/dashboard")
    assert _background_luminance(page, "svg.readiness-bar.compact") < 0.2
    for _, luminance, html in _measure(page, ".readiness-outlines rect"):
        assert luminance < 0.1, html  # the unfilled part of each row's bar
    for contrast, _, html in _measure(page, "svg.readiness-bar.compact rect.filled"):
        assert contrast >= 3, html
    _engagement(page, live_server, "Churn model handover")
    for _, luminance, html in _measure(page, "svg.readiness-bar:not(.compact) rect:not(.filled)"):
        assert luminance < 0.1, html
    for contrast, _, html in _measure(page, "svg.readiness-bar:not(.compact) rect.filled"):
        assert contrast >= 3, html
    for contrast, _, html in _measure(page, "svg.swatch rect"):
        assert contrast >= 3, html
    page.locator("svg.readiness-bar:not(.compact)").screenshot(
        path=str(screenshot(page, "readiness-dark").with_name("readiness-dark-crop.png"))
    )
    context.close()


def test_in_dark_mode_the_portfolio_charts_are_drawn_on_the_card(live_server, browser):
    """The portfolio's three charts and their keys take the same dark palette as the
    other pictures: no white paper, every band and bar >= 3:1 on the card, text >= 4.5:1,
    and each key swatch painted as the marks it names."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="dark")
    page = context.new_page()
    login(page, live_server, "manager@example.com")
    page.goto(f"{live_server}/portfolio")
    page.wait_for_selector("svg.portfolio-chart")
    assert _background_luminance(page, "svg.portfolio-chart") < 0.2
    for contrast, _, html in _measure(page, "svg.portfolio-chart text"):
        assert contrast >= 4.5, html
    for contrast, _, html in _measure(page, "svg.portfolio-chart :is(rect, polygon)"):
        assert contrast >= 3, html
    for contrast, _, html in _measure(page, "svg.key-swatch rect"):
        assert contrast >= 3, html
    # a key's swatch and the marks it names are painted alike
    pairs = page.evaluate(
        """() => {
          const fill = el => getComputedStyle(el).fill;
          const spent = document.querySelector('svg.portfolio-chart.spend rect[fill="#1d4ed8"]');
          const key = document.querySelector('svg.key-swatch rect[fill="#1d4ed8"]');
          return [fill(spent), fill(key)];
        }"""
    )
    assert pairs[0] == pairs[1] != "rgb(29, 78, 216)", pairs
    page.locator("[data-testid=portfolio-health]").screenshot(
        path=str(screenshot(page, "portfolio-dark").with_name("portfolio-dark-crop.png"))
    )
    context.close()
