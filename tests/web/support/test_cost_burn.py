"""The cost burn chart: lines where the figures put them, and the figures in its text."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from tracker.services.staffing.cost import CostBurn
from tracker.web.support.cost_burn import (
    BOTTOM,
    HEIGHT,
    LEFT,
    RIGHT,
    TOP,
    WIDTH,
    burn_points,
    cost_burn_svg,
)

START = date(2026, 1, 1)


def _burn(elapsed: int, total: int = 90, rate: Decimal = Decimal("1000")) -> CostBurn:
    expected, spent = rate * total, rate * elapsed
    return CostBurn(
        label="Trial",
        start=START,
        end=START + timedelta(days=total),
        today=START + timedelta(days=elapsed),
        days_total=total,
        days_elapsed=elapsed,
        day=min(elapsed + 1, total),
        before=Decimal("0"),
        expected=expected,
        expected_to_date=min(expected, spent),
        spent=spent,
        cost_to_date=spent,
    )


def _line(svg: str, cls: str) -> tuple[float, ...]:
    number = r'="([\d.]+)"'
    found = re.search(rf'<line class="{cls}" x1{number} y1{number} x2{number} y2{number}', svg)
    return tuple(float(v) for v in found.groups())


def test_the_expected_line_spans_the_period_and_the_actual_stops_at_today():
    svg = str(cost_burn_svg(_burn(30), "EUR"))
    x1, y1, x2, y2 = _line(svg, "expected")
    assert (x1, y1) == (LEFT, HEIGHT - BOTTOM) and (x2, y2) == (WIDTH - RIGHT, TOP)
    ax1, ay1, ax2, ay2 = _line(svg, "actual")
    assert (ax1, ay1) == (x1, y1)
    assert ax2 == round(LEFT + (WIDTH - LEFT - RIGHT) / 3, 1)  # day 30 of 90
    assert ay2 == round(HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) / 3, 1)  # a third spent


def test_the_summary_names_spent_expected_and_day_in_aria_label_and_title():
    svg = str(cost_burn_svg(_burn(30), "EUR"))
    summary = "Trial: EUR 30,000 spent of EUR 90,000 expected over the period (day 31 of 90)"
    assert f'role="img" aria-label="{summary}"' in svg
    assert f"<title>{summary}</title>" in svg
    assert "1 Jan" in svg and "1 Apr" in svg  # the period's first and last day


def test_an_overrun_widens_the_scale_draws_in_red_and_says_how_much():
    burn = _burn(120)
    points = burn_points(burn)
    assert points["actual_end"][0] == WIDTH - RIGHT  # today is the right edge
    assert points["expected_end"][0] < points["actual_end"][0]  # the period ended before
    svg = str(cost_burn_svg(burn, "EUR"))
    assert 'stroke="#b91c1c"' in svg and "EUR 30,000 past the period" in svg


def test_zero_cost_draws_flat_lines_on_the_axis_without_dividing_by_zero():
    svg = str(cost_burn_svg(_burn(10, rate=Decimal("0")), "EUR"))
    assert _line(svg, "expected")[3] == HEIGHT - BOTTOM == _line(svg, "actual")[3]
    assert "EUR 0 spent of EUR 0 expected" in svg
