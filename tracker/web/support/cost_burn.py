"""Cost to date against the running period's expected spend, as a small SVG line chart.

Days of the period run left to right, spend within the period bottom to top: a dashed
line is the expected spend over the whole period, a solid line with a dot the spend so
far. The numbers come from services/staffing/cost.py (`cost_burn`); nothing is computed here
beyond placing them, and the same figures are written next to the picture.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape

from markupsafe import Markup

from tracker.services.staffing.cost import CostBurn

WIDTH, HEIGHT = 300, 72
LEFT, RIGHT, TOP, BOTTOM = 6, 6, 8, 18  # room for the date labels under the axis
EXPECTED_COLOUR = "#475569"  # slate 600: 7.6:1 on white
ACTUAL_COLOUR = "#1d4ed8"  # blue 700: 6.7:1 on white
OVERRUN_COLOUR = "#b91c1c"  # red 700: 6.5:1 on white
AXIS_COLOUR = "#64748b"  # slate 500: 4.8:1 on white


def money(value: Decimal, currency: str) -> str:
    """EUR 12,300 (whole units), as the page's money filter writes it."""
    return f"{currency} {value:,.0f}"


def burn_summary(burn: CostBurn, currency: str) -> str:
    """The picture in words: the same figures the page prints beside it."""
    text = (
        f"{burn.label}: {money(burn.spent, currency)} spent of "
        f"{money(burn.expected, currency)} expected over the period "
        f"(day {burn.day} of {burn.days_total})"
    )
    if burn.overrun:
        text += f", {money(burn.overrun, currency)} past the period's end"
    return text


def burn_points(burn: CostBurn) -> dict[str, tuple[float, float]]:
    """Where the lines start and end, in the SVG's coordinates."""
    days = max(burn.days_total, burn.days_elapsed, 1)
    top = max(burn.expected, burn.spent, Decimal("1"))

    def point(day: int, amount: Decimal) -> tuple[float, float]:
        x = LEFT + (WIDTH - LEFT - RIGHT) * day / days
        y = HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * float(amount / top)
        return round(x, 1), round(y, 1)

    return {
        "origin": point(0, Decimal("0")),
        "expected_end": point(burn.days_total, burn.expected),
        "actual_end": point(burn.days_elapsed, burn.spent),
        "period_end": point(burn.days_total, Decimal("0")),
    }


def cost_burn_svg(burn: CostBurn, currency: str) -> Markup:
    """The chart's SVG, with its summary as aria-label and <title>."""
    p = burn_points(burn)
    (x0, y0), (xe, ye), (xa, ya) = p["origin"], p["expected_end"], p["actual_end"]
    actual = OVERRUN_COLOUR if burn.overrun else ACTUAL_COLOUR
    base = HEIGHT - BOTTOM
    label = burn_summary(burn, currency)
    parts = [
        f'<line class="axis" x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" '
        f'stroke="{AXIS_COLOUR}" stroke-width="1"/>',
        f'<line class="period-end" x1="{xe}" y1="{TOP}" x2="{xe}" y2="{base}" '
        f'stroke="{AXIS_COLOUR}" stroke-width="1" stroke-dasharray="1 2"/>',
        f'<line class="expected" x1="{x0}" y1="{y0}" x2="{xe}" y2="{ye}" '
        f'stroke="{EXPECTED_COLOUR}" stroke-width="2" stroke-dasharray="5 3">'
        f"<title>Expected: {escape(money(burn.expected, currency))} by "
        f"{burn.end:%-d %b}</title></line>",
        f'<line class="actual" x1="{x0}" y1="{y0}" x2="{xa}" y2="{ya}" '
        f'stroke="{actual}" stroke-width="3" stroke-linecap="round"/>',
        f'<circle class="today" cx="{xa}" cy="{ya}" r="4" fill="{actual}">'
        f"<title>Spent by {burn.today:%-d %b}: {escape(money(burn.spent, currency))}</title>"
        "</circle>",
        _date_label(LEFT, "start", f"{burn.start:%-d %b}"),
        _date_label(xe, "end" if xe > WIDTH - 40 else "middle", f"{burn.end:%-d %b}"),
    ]
    return Markup(
        f'<svg class="cost-burn" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg" '
        f'data-days="{burn.days_elapsed}" data-days-total="{burn.days_total}">'
        f"<title>{escape(label)}</title>{''.join(parts)}</svg>"
    )


def _date_label(x: float, anchor: str, text: str) -> str:
    return (
        f'<text x="{x}" y="{HEIGHT - 4}" font-size="11" text-anchor="{anchor}" '
        f'fill="{AXIS_COLOUR}">{escape(text)}</text>'
    )
