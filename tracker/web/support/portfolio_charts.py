"""The portfolio's pictures as server-side SVG: health over six months as a stacked area,
spend per month against the monthly costs, trials started and ended per quarter.

Drawn 360 units wide so an 11-unit label stays readable on a 390 px phone; each picture
has role="img", a summary as aria-label and <title>, and every band, bar and point a
<title> of its own. The page puts a data table beside each. The figures come from
services/portfolio/figures.py; nothing is computed here beyond placing them. The health
colours and their names are the health strip's (web/health_strip.py).
"""

from __future__ import annotations

from decimal import Decimal
from html import escape

from markupsafe import Markup

from tracker.services.portfolio.figures import HealthPoint, SpendMonth, TrialQuarter
from tracker.web.support.cost_burn import AXIS_COLOUR, EXPECTED_COLOUR, money
from tracker.web.support.health_strip import LOOKS

WIDTH, HEIGHT = 360, 170
LEFT, RIGHT, TOP, BOTTOM = 34, 8, 10, 22
STACK = ("green", "amber", "red")  # bottom to top
SPENT_COLOUR = "#1d4ed8"  # blue 700, as the cost burn's spend
STARTED_COLOUR = "#475569"  # slate 600
OUTCOME_COLOURS = {  # each >= 3:1 against white, told apart by their order and titles too
    "extended": "#6d28d9",
    "completed": "#15803d",
    "terminated": "#b91c1c",
    "cancelled": "#7f1d1d",
    "handing over": "#0f766e",
    "awaiting a decision": "#b45309",
}
OTHER_OUTCOME = "#64748b"


def _svg(kind: str, label: str, body: list[str], **data) -> Markup:
    attrs = "".join(f' data-{k.replace("_", "-")}="{escape(str(v))}"' for k, v in data.items())
    return Markup(
        f'<svg class="portfolio-chart {kind}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg"{attrs}>'
        f"<title>{escape(label)}</title>{''.join(body)}</svg>"
    )


def _axis(top_value: str) -> list[str]:
    base = HEIGHT - BOTTOM
    return [
        f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" '
        f'stroke="{AXIS_COLOUR}" stroke-width="1"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}" stroke="{AXIS_COLOUR}" '
        'stroke-width="1"/>',
        _text(LEFT - 4, TOP + 8, top_value, "end"),
        _text(LEFT - 4, base, "0", "end"),
    ]


def _text(x: float, y: float, words: str, anchor: str = "middle") -> str:
    return (
        f'<text x="{round(x, 1)}" y="{round(y, 1)}" font-size="11" text-anchor="{anchor}" '
        f'fill="{AXIS_COLOUR}">{escape(words)}</text>'
    )


def _y(value: float, top: float) -> float:
    return round(HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * value / top, 1)


def health_summary(points: list[HealthPoint]) -> str:
    """The picture in words: the first and the last point, by health."""
    first, last = points[0], points[-1]

    def counts(point: HealthPoint) -> str:
        return ", ".join(f"{LOOKS[h][3]} {point.counts.get(h, 0)}" for h in STACK)

    return (
        f"Live engagements by health, weekly from {first.day:%-d %b %Y} to "
        f"{last.day:%-d %b %Y}: {counts(first)} then, {counts(last)} now."
    )


def health_area_svg(points: list[HealthPoint]) -> Markup:
    """Green at the bottom, amber, red on top; a band per health, a mark per week."""
    top = max([p.total for p in points] + [1])
    step = (WIDTH - LEFT - RIGHT) / max(1, len(points) - 1)
    xs = [round(LEFT + i * step, 1) for i in range(len(points))]
    below = [0] * len(points)
    body = _axis(str(top))
    for health in STACK:
        above = [b + p.counts.get(health, 0) for b, p in zip(below, points, strict=True)]
        upper = " ".join(f"{x},{_y(v, top)}" for x, v in zip(xs, above, strict=True))
        lower = " ".join(
            f"{x},{_y(v, top)}" for x, v in reversed(list(zip(xs, below, strict=True)))
        )
        fill, _, _, name = LOOKS[health]
        now = points[-1].counts.get(health, 0)
        body.append(
            f'<polygon class="band" data-health="{health}" points="{upper} {lower}" '
            f'fill="{fill}"><title>{name}: {now} now</title></polygon>'
        )
        below = above
    body += [_text(xs[0], HEIGHT - 6, f"{points[0].day:%-d %b}", "start"),
             _text(xs[-1], HEIGHT - 6, f"{points[-1].day:%-d %b}", "end")]  # fmt: skip
    return _svg("health-area", health_summary(points), body, points=len(points))


def spend_summary(months: list[SpendMonth], currency: str) -> str:
    spent = sum((m.spent for m in months), Decimal(0))
    return (
        f"Spend per month over {len(months)} months, {money(spent, currency)} in all, "
        f"against the monthly costs of the engagements running each month "
        f"({money(months[-1].monthly_costs, currency)} this month)."
    )


def spend_svg(months: list[SpendMonth], currency: str) -> Markup:
    """A bar per month for what accrued; a dashed mark for the sum of monthly costs."""
    top = float(max([max(m.spent, m.monthly_costs) for m in months] + [Decimal(1)]))
    slot = (WIDTH - LEFT - RIGHT) / len(months)
    body = _axis(_short_money(top))
    for i, month in enumerate(months):
        x = LEFT + i * slot
        y_spent, y_rate = _y(float(month.spent), top), _y(float(month.monthly_costs), top)
        base = HEIGHT - BOTTOM
        words = (
            f"{month.first:%b %Y}{' (to date)' if month.partial else ''}: "
            f"{money(month.spent, currency)} spent, monthly costs "
            f"{money(month.monthly_costs, currency)}"
        )
        body.append(
            f'<g class="month" data-month="{month.first.isoformat()}">'
            f"<title>{escape(words)}</title>"
            f'<rect x="{round(x + slot * 0.2, 1)}" y="{y_spent}" width="{round(slot * 0.6, 1)}" '
            f'height="{round(base - y_spent, 1)}" fill="{SPENT_COLOUR}"/>'
            f'<line x1="{round(x + slot * 0.1, 1)}" y1="{y_rate}" x2="{round(x + slot * 0.9, 1)}" '
            f'y2="{y_rate}" stroke="{EXPECTED_COLOUR}" stroke-width="2" stroke-dasharray="4 2"/>'
            f"</g>"
        )
        body.append(_text(x + slot / 2, HEIGHT - 6, f"{month.first:%b}"))
    return _svg("spend", spend_summary(months, currency), body, months=len(months))


def _short_money(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 1_000:
        return f"{value / 1_000:.0f}k"
    return f"{value:.0f}"


def trials_summary(quarters: list[TrialQuarter]) -> str:
    started = sum(q.started for q in quarters)
    ended = sum(q.ended_total for q in quarters)
    return (
        f"Trials per quarter from {quarters[0].label} to {quarters[-1].label}: "
        f"{started} started, {ended} ended."
    )


def trials_svg(quarters: list[TrialQuarter], outcomes: list[str]) -> Markup:
    """Per quarter: a bar of trials started, beside a bar of trials ended by outcome."""
    top = max([max(q.started, q.ended_total) for q in quarters] + [1])
    slot = (WIDTH - LEFT - RIGHT) / len(quarters)
    base = HEIGHT - BOTTOM
    body = _axis(str(top))
    for i, quarter in enumerate(quarters):
        x = LEFT + i * slot
        width = round(slot * 0.36, 1)
        y = _y(quarter.started, top)
        body.append(
            f'<rect class="started" x="{round(x + slot * 0.1, 1)}" y="{y}" width="{width}" '
            f'height="{round(base - y, 1)}" fill="{STARTED_COLOUR}">'
            f"<title>{quarter.label}: {quarter.started} started</title></rect>"
        )
        below = 0
        for outcome in outcomes:
            count = quarter.ended.get(outcome, 0)
            if not count:
                continue
            y_top, y_bottom = _y(below + count, top), _y(below, top)
            colour = OUTCOME_COLOURS.get(outcome, OTHER_OUTCOME)
            body.append(
                f'<rect class="ended" data-outcome="{escape(outcome)}" '
                f'x="{round(x + slot * 0.54, 1)}" y="{y_top}" width="{width}" '
                f'height="{round(y_bottom - y_top, 1)}" fill="{colour}">'
                f"<title>{quarter.label}: {count} ended, {escape(outcome)}</title></rect>"
            )
            below += count
        body.append(_text(x + slot / 2, HEIGHT - 6, f"Q{quarter.quarter} {quarter.year % 100:02d}"))
    return _svg("trials", trials_summary(quarters), body, quarters=len(quarters))


def outcome_colour(outcome: str) -> str:
    return OUTCOME_COLOURS.get(outcome, OTHER_OUTCOME)


def swatch(colour: str) -> Markup:
    """A key's colour sample as a tiny SVG (the CSP allows no inline style attributes)."""
    return Markup(
        '<svg class="key-swatch" viewBox="0 0 10 10" aria-hidden="true" '
        f'xmlns="http://www.w3.org/2000/svg"><rect width="10" height="10" fill="{escape(colour)}" '
        'stroke="#64748b"/></svg>'
    )
