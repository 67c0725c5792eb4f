"""One small server-side SVG chart per success metric: the measurements over time, the
milestone targets as steps, due dates marked and the baseline as a line.

The picture never carries meaning alone: its aria-label says what it shows (not repeated
as a <title>: the caption and the table beside it say it to sighted readers), and the
template writes the same numbers as a table. Long series arrive thinned from SQL
(services/evidence/reads.py: `series`, about 120 points plus the newest 10) and are
thinned again here to at most MAX_DRAWN, so the page stays the same size whatever the
number of measurements; the judgment never reads these points.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from html import escape

from markupsafe import Markup

from tracker.core import clock
from tracker.services.evidence.judgment import number
from tracker.services.evidence.page import MetricView

WIDTH, HEIGHT, PAD_X, PAD_Y = 320, 120, 34, 12
# 80 points over a plot 252 units wide: one every ~3 units, as fine as the eye reads at
# this size; 120 cost 5 KB more on a page of 10 charts (tests/perf/test_evidence_page_budget)
MAX_DRAWN = 80
LINE, TARGET, BASELINE, DUE = "#1d4ed8", "#15803d", "#64748b", "#94a3b8"


def thinned(points: list, limit: int = MAX_DRAWN) -> list:
    """At most `limit` points, evenly spread over the series, the last always kept."""
    if len(points) <= limit:
        return list(points)
    step = len(points) / (limit - 1)
    picked = [points[int(i * step)] for i in range(limit - 1)]
    return [*picked, points[-1]]


def _instant(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=clock.now().tzinfo)


def _span(view: MetricView, today: date) -> tuple[datetime, datetime]:
    times = [p.measured_at for p in view.points] + [_instant(t.due_date) for t in view.targets]
    times.append(_instant(today))
    start, end = min(times), max(times)
    if end - start < timedelta(days=7):
        start = end - timedelta(days=7)
    return start, end


def nice_scale(low: float, high: float, intervals: int = 4) -> tuple[float, float, float]:
    """(bottom, top, step) of an axis holding low..high: the step a 1, 2, 2.5 or 5 times a
    power of ten that cuts it in about `intervals`, and both ends whole steps, so its
    labels read "3,200", not "3,199.896" (rounded to the step's own decimals)."""
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    raw = (high - low) / intervals
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))
    places = max(0, -math.floor(math.log10(step)) + (1 if step / power == 2.5 else 0))
    bottom = round(math.floor(low / step + 1e-9) * step, places)
    top = round(math.ceil(high / step - 1e-9) * step, places)
    return bottom, top, step


def _range(view: MetricView) -> tuple[float, float]:
    """The value axis: every point, target and the baseline, on whole nice steps with a
    little room so no point sits on the frame."""
    values = [p.value for p in view.points] + [t.target for t in view.targets]
    if view.metric.baseline is not None:
        values.append(view.metric.baseline)
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    margin = (high - low) * 0.04
    bottom, top, _ = nice_scale(low - margin, high + margin)
    return bottom, top


def chart_label(view: MetricView) -> str:
    """The text alternative: what is drawn, in words."""
    m = view.metric
    unit = f" {m.unit}" if m.unit else ""
    parts = [f"{m.name}: {view.count} measurement{'s' if view.count != 1 else ''}"]
    if view.latest is not None:
        parts.append(
            f"latest {number(view.latest.value)}{unit} on {view.latest.measured_at:%-d %b}"
        )
    if m.baseline is not None:
        parts.append(f"baseline {number(m.baseline)}{unit}")
    for t in view.targets:
        parts.append(f"target {number(t.target)}{unit} by {t.due_date:%-d %b} ({t.title})")
    better = "higher" if m.direction == "higher" else "lower"
    return "; ".join(parts) + f"; {better} is better."


def metric_chart_svg(view: MetricView, today: date) -> Markup:
    """The chart as inline SVG (no script, no external resources)."""
    start, end = _span(view, today)
    low, high = _range(view)
    seconds = (end - start).total_seconds() or 1.0

    def x(when: datetime) -> float:
        return round(PAD_X + (when - start).total_seconds() / seconds * (WIDTH - 2 * PAD_X), 1)

    def y(value: float) -> float:
        return round(HEIGHT - PAD_Y - (value - low) / (high - low) * (HEIGHT - 2 * PAD_Y), 1)

    parts = [_axes(high, low, y)]
    if view.metric.baseline is not None:
        b = y(view.metric.baseline)
        parts.append(
            f'<line class="baseline" x1="{PAD_X}" x2="{WIDTH - PAD_X}" y1="{b}" y2="{b}" '
            f'stroke="{BASELINE}" stroke-dasharray="2 3"><title>Baseline '
            f"{escape(number(view.metric.baseline))}</title></line>"
        )
    parts += _steps(view, start, x, y)
    parts += _series(view, x, y)
    label = escape(chart_label(view))
    return Markup(
        f'<svg class="metric-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{label}" xmlns="http://www.w3.org/2000/svg">'
        f"{''.join(parts)}</svg>"
    )


def _axes(high, low, y) -> str:
    return (
        f'<text x="2" y="{y(high) + 10}" font-size="9" fill="currentColor">'
        f"{escape(number(high))}</text>"
        f'<text x="2" y="{y(low)}" font-size="9" fill="currentColor">'
        f"{escape(number(low))}</text>"
    )


def _steps(view: MetricView, start: datetime, x, y) -> list[str]:
    """Each target as a step: level from the previous due date (or the start) to its own."""
    drawn, left = [], x(start)
    for t in view.targets:
        due_x, level = x(_instant(t.due_date)), y(t.target)
        drawn.append(
            f'<line class="due" x1="{due_x}" x2="{due_x}" y1="{PAD_Y}" y2="{HEIGHT - PAD_Y}" '
            f'stroke="{DUE}" stroke-dasharray="1 2"/>'
            f'<path class="target-step" d="M{left},{level} H{due_x}" stroke="{TARGET}" '
            f'stroke-width="2" fill="none"><title>{escape(t.title)}: target '
            f"{escape(number(t.target))} by {t.due_date:%-d %b}</title></path>"
        )
        left = due_x
    return drawn


def _series(view: MetricView, x, y) -> list[str]:
    points = thinned(view.points)
    if not points:
        return []
    path = " ".join(f"{x(p.measured_at)},{y(p.value)}" for p in points)
    last = points[-1]
    return [
        f'<polyline class="series" points="{path}" fill="none" stroke="{LINE}" '
        'stroke-width="1.5"/>',
        f'<circle class="latest" cx="{x(last.measured_at)}" cy="{y(last.value)}" r="3" '
        f'fill="{LINE}"><title>Latest {escape(number(last.value))} on '
        f"{last.measured_at:%-d %b}</title></circle>",
    ]
