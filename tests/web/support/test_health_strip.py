"""The health strip: one run per stretch of days, as wide as its days, lettered and titled."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tracker.services.judgments.health_history import UNKNOWN, HealthStrip, Segment
from tracker.web.support.health_strip import CELL, health_strip_svg, strip_label, strip_summary

FIRST = date(2026, 1, 1)


def _strip(*runs: tuple[str, int]) -> HealthStrip:
    segments, day = [], FIRST
    for health, days in runs:
        segments.append(Segment(health, day, days))
        day += timedelta(days=days)
    return HealthStrip(FIRST, day - timedelta(days=1), tuple(segments))


def _rects(svg: str) -> list[tuple[str, float, float]]:
    runs = re.findall(r'data-health="(\w+)".*?<rect x="([\d.]+)" y="0" width="([\d.]+)"', svg)
    return [(h, float(x), float(w)) for h, x, w in runs]


def test_runs_are_laid_end_to_end_as_wide_as_their_days():
    svg = str(health_strip_svg(_strip((UNKNOWN, 10), ("green", 61), ("amber", 12), ("red", 7))))
    assert _rects(svg) == [
        (UNKNOWN, 0, 10 * CELL),
        ("green", 10 * CELL, 61 * CELL),
        ("amber", 71 * CELL, 12 * CELL),
        ("red", 83 * CELL, 7 * CELL),
    ]
    assert f'viewBox="0 0 {90 * CELL} ' in svg


def test_status_is_not_colour_alone_letters_titles_and_totals():
    strip = _strip(("green", 61), ("amber", 22), ("red", 1), ("green", 6))
    svg = str(health_strip_svg(strip))
    letters = re.findall(r'font-weight="700" text-anchor="middle" fill="#ffffff">(\w)</text>', svg)
    assert letters == ["G", "A", "G"]  # a one-day run is too narrow for its letter
    assert "<title>Red on 25 Mar</title>" in svg
    assert "<title>Amber from 3 Mar to 24 Mar (22 days)</title>" in svg
    assert strip_summary(strip) == "Green 67 days, Amber 22 days, Red 1 day"


def test_the_label_says_the_span_the_totals_and_the_last_day():
    strip = _strip((UNKNOWN, 80), ("amber", 10))
    label = strip_label(strip)
    assert label == (
        "Health over the last 90 days (1 Jan to 31 Mar): Amber 10 days, Not recorded 80 days. "
        "On 31 Mar: Amber."
    )
    svg = str(health_strip_svg(strip))
    assert f'role="img" aria-label="{label}"' in svg and f"<title>{label}</title>" in svg


def test_a_young_engagements_fewer_days_fill_the_same_width():
    """13 days since it began: the strip is as wide as 90 days' (not a narrow picture
    scaled up to a tall block), each day wider, the runs still end to end."""
    svg = str(health_strip_svg(_strip((UNKNOWN, 3), ("green", 10))))
    assert f'viewBox="0 0 {90 * CELL} 18"' in svg
    (_, x0, w0), (_, x1, w1) = _rects(svg)
    assert (x0, x1) == (0, w0)  # drawn to 5 significant digits
    assert w0 + w1 == pytest.approx(90 * CELL, abs=0.01)
    assert w1 / w0 == pytest.approx(10 / 3, abs=0.001)
