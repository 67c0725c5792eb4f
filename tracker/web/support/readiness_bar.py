"""Readiness as a segmented bar: one segment per applicable part, as wide as its weight.

Each segment is filled as far as the part is done, so the bar reads like the score
(the filled length is the score's share of the weights) and shows which part holds
it back. The numbers come from services/judgments/readiness.py; nothing is judged here.
"""

from __future__ import annotations

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
    if not total:
        return []
    room = WIDTH - GAP * (len(parts) - 1)
    found, x = [], 0.0
    for index, part in parts:
        width = round(room * part.weight / total, 1)
        title = f"{part.label} ({part.weight} of {total}): {part.detail}"
        filled = round(width * part.fraction, 1)
        found.append((part.name, round(x, 1), width, filled, title, part_colour(index)))
        x += width + GAP
    return found


def readiness_bar_svg(readiness: Readiness, *, compact: bool = False) -> Markup:
    """The bar's SVG; hovering a segment names its part (the same words are in the text)."""
    height = 8 if compact else HEIGHT
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
    if compact:
        return _compact_bar(readiness)
    label = f"Readiness {readiness.score} of 100: {readiness.summary}"
    return Markup(
        f'<svg class="readiness-bar" viewBox="0 0 {WIDTH} {height}" preserveAspectRatio="none" '
        f'role="img" aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>{''.join(drawn)}</svg>"
    )


def _compact_bar(readiness: Readiness) -> Markup:
    """The bar in a list row, beside the score and the same words (visually hidden): a
    picture of them with no second copy of the summary, its colours from the stylesheet
    (`.part-N`), since one page draws fifty of them."""
    drawn = []
    for name, x, width, filled, title, colour in segments(readiness):
        drawn.append(
            f'<g class="readiness-segment part-{PART_COLOURS.index(colour)}" '
            f'data-part="{escape(name)}"><title>{escape(title)}</title>'
            f'<rect x="{x:g}" width="{width:g}" height="8"/>'
            f'<rect class="filled" x="{x:g}" width="{filled:g}" height="8"/></g>'
        )
    return Markup(
        '<svg class="readiness-bar compact" viewBox="0 0 300 8" preserveAspectRatio="none" '
        f'aria-hidden="true">{"".join(drawn)}</svg>'
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
