"""The metric chart's value axis: whole "nice" steps (1, 2, 2.5 or 5 times a power of
ten) at the metric's own scale, so its labels read like the table's numbers ("3,200"),
never "3,199.896"; every point, target and the baseline stays inside it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from tracker.web.support.metric_chart import metric_chart_svg, nice_scale


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (2800.1, 3199.896, (2800, 3200, 100)),
        (0.8123, 0.8734, (0.8, 0.88, 0.02)),
        (0, 1, (0, 1, 0.25)),
        (-3.2, 7.7, (-5, 10, 5)),
        (98.2, 99.95, (98, 100, 0.5)),
        (1e6, 3.4e6, (1e6, 4e6, 1e6)),
        (5, 5, (4, 6, 0.5)),  # a flat series still gets an axis
    ],
)
def test_nice_scale(low, high, expected):
    assert nice_scale(low, high) == pytest.approx(expected)
    bottom, top, step = nice_scale(low, high)
    assert bottom <= low and top >= high
    assert 2 <= round((top - bottom) / step) <= 8


def _view(values, target, baseline):
    start = datetime(2026, 9, 1, 12, tzinfo=UTC)
    points = [
        SimpleNamespace(measured_at=start + timedelta(days=i), value=v)
        for i, v in enumerate(values)
    ]
    metric = SimpleNamespace(name="Orders a minute", unit="", baseline=baseline, direction="higher")
    goal = SimpleNamespace(due_date=date(2026, 10, 1), target=target, title="Day-30")
    return SimpleNamespace(
        metric=metric, points=points, targets=[goal], count=len(points), latest=points[-1]
    )


def test_the_axis_labels_are_round_numbers_at_the_metrics_scale():
    svg = str(
        metric_chart_svg(_view([2901.37, 3050.5, 3199.896], 3100.0, 2850.25), date(2026, 9, 5))
    )
    labels = re.findall(
        r'<text x="2" y="[\d.]+" font-size="9" fill="currentColor">([^<]*)</text>', svg
    )
    assert labels == ["3,300", "2,800"]  # a little room above 3,199.896
    small = str(metric_chart_svg(_view([0.8123, 0.85, 0.8734], 0.86, None), date(2026, 9, 5)))
    labels = re.findall(r'fill="currentColor">([^<]*)</text>', small)
    assert labels == ["0.88", "0.8"]
