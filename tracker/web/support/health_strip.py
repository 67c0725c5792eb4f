"""Health over the last 90 days as a strip: one cell a day, consecutive days drawn as one run.

Each run is coloured by the effective health in force and, where it is wide enough,
lettered (G, A, R, ? for not recorded), so the strip does not rely on colour; every run
names its dates in a <title> and the totals are written beside it. The days come from
services/judgments/health_history.py (`health_strip`); nothing is judged here.
"""

from __future__ import annotations

from html import escape

from markupsafe import Markup

from tracker.services.judgments.health_history import UNKNOWN, HealthStrip, Segment

CELL, HEIGHT = 4, 18  # 90 days → 360 units wide
WIDTH = 90 * CELL  # a young engagement's fewer days share the same width, wider each
LETTER_ROOM = 12  # a run at least this wide carries its letter
# (fill, letter, letter colour, name); white letters keep >= 4.5:1 on each fill.
LOOKS = {
    "green": ("#15803d", "G", "#ffffff", "Green"),
    "amber": ("#b45309", "A", "#ffffff", "Amber"),
    "red": ("#b91c1c", "R", "#ffffff", "Red"),
    UNKNOWN: ("#e5e7eb", "?", "#374151", "Not recorded"),
}
ORDER = ("green", "amber", "red", UNKNOWN)


def _look(health: str) -> tuple[str, str, str, str]:
    return LOOKS.get(health, LOOKS[UNKNOWN])


def strip_summary(strip: HealthStrip) -> str:
    """ "Green 61 days, Amber 22 days, Red 7 days" over the strip's days, worst last."""
    totals = strip.totals
    parts = [
        f"{_look(h)[3]} {totals[h]} day{'s' if totals[h] != 1 else ''}"
        for h in ORDER
        if totals.get(h)
    ]
    return ", ".join(parts)


def strip_label(strip: HealthStrip) -> str:
    """What a screen reader hears: the span, the totals and the last day's value."""
    days = sum(s.days for s in strip.segments)
    return (
        f"Health over the last {days} days ({strip.first:%-d %b} to {strip.last:%-d %b}): "
        f"{strip_summary(strip)}. On {strip.last:%-d %b}: {_look(strip.today)[3]}."
    )


def segment_title(segment: Segment) -> str:
    name = _look(segment.health)[3]
    if segment.days == 1:
        return f"{name} on {segment.start:%-d %b}"
    return f"{name} from {segment.start:%-d %b} to {segment.end:%-d %b} ({segment.days} days)"


def health_strip_svg(strip: HealthStrip) -> Markup:
    """The strip's SVG: a <g> per run (rect, letter, title), oldest on the left."""
    drawn, x = [], 0
    cell = WIDTH / max(1, sum(s.days for s in strip.segments))
    for segment in strip.segments:
        fill, letter, ink, _ = _look(segment.health)
        width = segment.days * cell
        text = ""
        if width >= LETTER_ROOM:
            text = (
                f'<text x="{x + width / 2:.5g}" y="{HEIGHT / 2 + 4}" font-size="11" '
                f'font-weight="700" text-anchor="middle" fill="{ink}">{letter}</text>'
            )
        drawn.append(
            f'<g class="health-run" data-health="{escape(segment.health)}" '
            f'data-start="{segment.start.isoformat()}" data-days="{segment.days}">'
            f"<title>{escape(segment_title(segment))}</title>"
            f'<rect x="{x:.5g}" y="0" width="{width:.5g}" height="{HEIGHT}" '
            f'fill="{fill}"/>{text}</g>'
        )
        x += width
    label = strip_label(strip)
    return Markup(
        f'<svg class="health-strip" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        f' aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>{''.join(drawn)}</svg>"
    )
