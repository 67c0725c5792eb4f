"""Readiness as a segmented bar: one segment per applicable part, as wide as its weight.

Each segment is filled as far as the part is done, so the bar reads like the score
(the filled length is the score's share of the weights) and shows which part holds
it back. The numbers come from services/judgments/readiness.py; nothing is judged here.
"""

from __future__ import annotations

import functools
from html import escape

from markupsafe import Markup

from tracker.services.judgments.readiness import Readiness

WIDTH, HEIGHT, GAP = 300, 14, 2
# One colour per part, in the breakdown's order; all >= 3:1 against white.
PART_COLOURS = ("#1d4ed8", "#7c3aed", "#0f766e", "#b45309", "#be185d", "#4d7c0f")
EMPTY = "#e5e7eb"


def segments(readiness: Readiness) -> list[tuple[str, float, float, float, str, str]]:
    """(part name, x, width, filled width, title, colour) for each applicable part.

    A part keeps its colour (by its place in the breakdown) whether or not others apply.
    """
    parts = [(i, p) for i, p in enumerate(readiness.parts) if p.applicable and p.weight > 0]
    total = sum(p.weight for _, p in parts)
    found = []
    for (index, x, width), (_, part) in zip(_placed(_weights(parts)), parts, strict=True):
        title = f"{part.label} ({part.weight} of {total}): {part.detail}"
        filled = round(width * part.fraction, 1)
        found.append((part.name, x, width, filled, title, part_colour(index)))
    return found


def _weights(parts) -> tuple[tuple[int, int], ...]:
    return tuple((index, part.weight) for index, part in parts)


@functools.lru_cache(maxsize=64)
def _placed(weights: tuple[tuple[int, int], ...]) -> tuple[tuple[int, float, float], ...]:
    """(place in the breakdown, x, width) of each applicable part, from (place, weight):
    a handful of combinations, whatever the number of bars drawn."""
    total = sum(weight for _, weight in weights)
    if not total:
        return ()
    room = WIDTH - GAP * (len(weights) - 1)
    found, x = [], 0.0
    for index, weight in weights:
        width = round(room * weight / total, 1)
        found.append((index, round(x, 1), width))
        x += width + GAP
    return tuple(found)


def readiness_bar_svg(readiness: Readiness) -> Markup:
    """The bar's SVG; hovering a segment names its part (the same words are in the text).
    A list draws its bars with `CompactBars`."""
    height = HEIGHT
    drawn = []
    for name, x, width, filled, title, colour in segments(readiness):
        drawn.append(
            f'<g class="readiness-segment" data-part="{escape(name)}">'
            f"<title>{escape(title)}</title>"
            f'<rect x="{x}" y="0" width="{width}" height="{height}" rx="2" fill="{EMPTY}" '
            f'stroke="{colour}" stroke-width="1"/>'
            f'<rect class="filled" x="{x}" y="0" width="{filled}" height="{height}" rx="2" '
            f'fill="{colour}"/></g>'
        )
    label = f"Readiness {readiness.score} of 100: {readiness.summary}"
    return Markup(
        f'<svg class="readiness-bar" viewBox="0 0 {WIDTH} {height}" preserveAspectRatio="none" '
        f'role="img" aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>{''.join(drawn)}</svg>"
    )


class CompactBars:
    """The bars of a list, where a page draws fifty (tests/perf/test_page_size.py).

    A bar's outline, one rectangle per applicable part as wide as its weight, depends only
    on which parts apply, so a list has a handful: each is drawn once, as a `<symbol>`
    (`symbols()`, after the list), and a row's bar is a `<use>` of its outline, the filled
    rectangles (none for a part with nothing done) and the breakdown once, in counts, as
    the picture's name: its `<title>`, the tooltip and what a screen reader reads. Colours
    and heights come from the stylesheet (`.part-N`); the weights are in the widths, and in
    words on the engagement page.
    """

    def __init__(self) -> None:
        self._outlines: dict[tuple, str] = {}

    def bar(self, readiness: Readiness) -> Markup:
        parts = [(i, p) for i, p in enumerate(readiness.parts) if p.applicable and p.weight > 0]
        placed = _placed(_weights(parts))
        layout = tuple((index % len(PART_COLOURS), x, width) for index, x, width in placed)
        outline = self._outlines.setdefault(layout, f"readiness-outline-{len(self._outlines)}")
        filled = "".join(
            f'<rect class="part-{index} filled" x="{_percent(x)}" width="{_percent(done)}" '
            'height="8"/>'
            for (index, x, width), (_i, part) in zip(layout, parts, strict=True)
            if (done := round(width * part.fraction, 1))
        )
        return Markup(
            f'<svg class="readiness-bar compact" role="img"><title>'
            f'{escape(compact_summary(readiness))}</title><use href="#{outline}"/>{filled}</svg>'
        )

    def symbols(self) -> Markup:
        """The outlines the bars drawn so far use, in a hidden sprite."""
        drawn = "".join(
            f'<symbol id="{name}" viewBox="0 0 {WIDTH} 8" preserveAspectRatio="none">'
            + "".join(
                f'<rect class="part-{index}" x="{x:g}" width="{width:g}" height="8"/>'
                for index, x, width in layout
            )
            + "</symbol>"
            for layout, name in self._outlines.items()
        )
        return Markup(
            f'<svg class="readiness-outlines" hidden="" aria-hidden="true">{drawn}</svg>'
            if drawn
            else ""
        )


@functools.lru_cache(maxsize=4096)
def _percent(length: float) -> str:
    """A length of the 300-wide bar as a share of whatever width it is drawn at."""
    return f"{round(100 * length / WIDTH, 1):g}%"


def compact_summary(readiness: Readiness) -> str:
    """The breakdown in counts, one part after another (the part's own words when it
    counts nothing: "ADRs decided: None recorded yet")."""
    return "; ".join(
        f"{p.label}: {p.done} of {p.total}" if p.total else f"{p.label}: {p.detail}"
        for p in readiness.parts
        if p.applicable
    )


def part_colour(index: int) -> str:
    """The colour of the part at this place in the breakdown."""
    return PART_COLOURS[index % len(PART_COLOURS)]


def part_swatch(index: int) -> Markup:
    """A small square in the part's colour, keying the text breakdown to the bar."""
    return Markup(
        '<svg class="swatch" viewBox="0 0 10 10" width="10" height="10" aria-hidden="true" '
        f'xmlns="http://www.w3.org/2000/svg"><rect width="10" height="10" rx="2" '
        f'fill="{part_colour(index)}"/></svg>'
    )
