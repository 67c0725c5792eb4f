"""The timeline's labels never overlap, and each status has its own colour and shape."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from datetime import date, timedelta

from tests.factories import add_milestone, make_engagement
from tracker.web.support.timeline import STATUS_MARKS, label_width, legend_svg, timeline_svg

SVG = "{http://www.w3.org/2000/svg}"
STATUSES = list(STATUS_MARKS)


def _label_boxes(svg: str) -> list[tuple[float, float, float, float]]:
    """Each milestone label's box (x0, y0, x1, y1) as drawn, from the SVG itself."""
    root = ET.fromstring(str(svg))
    boxes = []
    for group in root.iter(f"{SVG}g"):
        if "milestone" not in group.get("class", "").split():
            continue
        text = group.find(f"{SVG}text")
        x, y, width = float(text.get("x")), float(text.get("y")), label_width(text.text)
        x0 = {"start": x, "end": x - width}.get(text.get("text-anchor"), x - width / 2)
        boxes.append((x0, y - 11, x0 + width, y + 2))
    return boxes


def _intersect(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_eight_milestones_in_one_week_get_labels_that_never_overlap(app):
    with app.app_context():
        engagement = make_engagement()
        milestones = [
            add_milestone(engagement, days=20 + i % 7, title=f"Quarterly model review {i}")
            for i in range(8)
        ]
        svg = timeline_svg(engagement, milestones, date.today())
    boxes = _label_boxes(svg)
    assert len(boxes) == 8
    for a, b in itertools.combinations(boxes, 2):
        assert not _intersect(a, b), (a, b)
    # they are staggered into lanes, inside the drawing
    assert len({box[1] for box in boxes}) > 1
    assert all(box[1] >= 0 for box in boxes)


def test_far_apart_labels_share_one_lane(app):
    with app.app_context():
        engagement = make_engagement()
        milestones = [add_milestone(engagement, days=d) for d in (10, 40, 70)]
        svg = timeline_svg(engagement, milestones, date.today() - timedelta(days=5))
    assert len({box[1] for box in _label_boxes(svg)}) == 1


def test_every_status_has_its_own_colour_and_its_own_shape():
    shapes = [shape for shape, _ in STATUS_MARKS.values()]
    colours = [colour for _, colour in STATUS_MARKS.values()]
    assert len(set(shapes)) == len(STATUSES) and len(set(colours)) == len(STATUSES)
    # "met" and "on track" are told apart by form as well as colour
    assert STATUS_MARKS["met"][0] != STATUS_MARKS["on_track"][0]
    drawn = {status: str(legend_svg(status)) for status in STATUSES}
    assert "<polygon" in drawn["met"] and "<circle" in drawn["on_track"]
    assert len(set(drawn.values())) == len(STATUSES)


def test_the_svg_says_where_today_is_for_the_phone_scroll(app):
    with app.app_context():
        engagement = make_engagement()
        milestones = [add_milestone(engagement, days=d) for d in (-60, 60)]
        svg = timeline_svg(engagement, milestones, date.today())
    today = float(ET.fromstring(str(svg)).get("data-today"))
    assert 0.4 < today < 0.6
    assert 'style="' not in str(svg)


def test_statuses_judged_by_the_page_draw_the_timeline_they_would_judge(app):
    """The engagement page judges each milestone's displayed status once and hands the
    judgments to the timeline: the same drawing as when the timeline judges them, and a
    different judgment would show (the statuses are the ones drawn)."""
    from tracker.services.milestone_status import displayed_status

    with app.app_context():
        engagement = make_engagement()
        milestones = [add_milestone(engagement, days=d) for d in (-3, 15, 40)]
        today = date.today()
        judged = {m.id: displayed_status(m, today) for m in milestones}
        assert timeline_svg(engagement, milestones, today, None, judged) == timeline_svg(
            engagement, milestones, today
        )
        late = milestones[0]
        other = {**judged, late.id: displayed_status(milestones[1], today)}
        assert timeline_svg(engagement, milestones, today, None, other) != timeline_svg(
            engagement, milestones, today
        )
