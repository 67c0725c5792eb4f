"""Readiness drawn as a bar of its parts: widths follow the weights, fills the progress."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests.factories import make_engagement
from tracker.extensions import db
from tracker.models import User
from tracker.services.judgments.readiness import Readiness, ReadinessPart
from tracker.web.support.readiness_bar import GAP, WIDTH, CompactBars, readiness_bar_svg, segments

SVG = "{http://www.w3.org/2000/svg}"


def _readiness() -> Readiness:
    parts = [
        ReadinessPart(
            "kt_checklist", "Knowledge-transfer checklist", 1, 4, "1 of 4 done", weight=40
        ),
        ReadinessPart("shadows", "Shadows signed off", 2, 2, "2 of 2 signed off", weight=30),
        ReadinessPart("adrs", "ADRs decided", 0, 0, "None recorded yet", weight=20),
        ReadinessPart("runbook", "Runbook", 0, 0, "n/a", weight=10, applicable=False),
    ]
    return Readiness(score=47, parts=parts)


def test_segments_are_as_wide_as_their_weights_and_filled_as_far_as_done():
    found = {name: (x, width, filled) for name, x, width, filled, _, _ in segments(_readiness())}
    assert set(found) == {"kt_checklist", "shadows", "adrs"}  # not-applicable parts are left out
    room = WIDTH - 2 * GAP
    assert found["kt_checklist"][1] == round(room * 40 / 90, 1)
    assert found["shadows"][1] == round(room * 30 / 90, 1)
    assert found["kt_checklist"][2] == round(found["kt_checklist"][1] / 4, 1)
    assert found["shadows"][2] == found["shadows"][1]
    assert found["adrs"][2] == 0
    # side by side, in order, within the drawing
    assert found["shadows"][0] > found["kt_checklist"][0] + found["kt_checklist"][1]
    assert found["adrs"][0] + found["adrs"][1] <= WIDTH + 0.5


def test_each_segment_names_its_part_and_the_bar_names_the_score():
    svg = str(readiness_bar_svg(_readiness()))
    root = ET.fromstring(svg)
    assert root.get("aria-label").startswith("Readiness 47 of 100: Knowledge-transfer checklist")
    titles = [g.find(f"{SVG}title").text for g in root.iter(f"{SVG}g")]
    assert titles[0] == "Knowledge-transfer checklist (40 of 90): 1 of 4 done"
    assert "Shadows signed off (30 of 90)" in titles[1] and "ADRs decided" in titles[2]
    colours = {g.find(f"{SVG}rect[@class='filled']").get("fill") for g in root.iter(f"{SVG}g")}
    assert len(colours) == 3
    assert "style=" not in svg


def test_a_hostile_label_is_escaped():
    part = ReadinessPart("x", "<script>", 0, 1, '"><b>', weight=1)
    svg = str(readiness_bar_svg(Readiness(score=0, parts=[part])))
    assert "<script>" not in svg and "<b>" not in svg
    ET.fromstring(svg)


def test_the_engagement_page_draws_the_bar_beside_the_words(client, sign_in, app):
    manager = sign_in("manager")
    with app.app_context():
        engagement_id = make_engagement(db.session.get(User, manager)).id
    html = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    bar = html.split('data-testid="readiness-bar">', 1)[1].split("</svg>", 1)[0]
    assert bar.count('class="readiness-segment"') >= 3
    assert "<title>Knowledge-transfer checklist (" in bar
    assert 'data-testid="readiness-kt_checklist"' in html  # the same parts, in text


def _parse_list_bars(bars: CompactBars, drawn: list[str]) -> tuple[list, dict]:
    """The rows' bars and the outlines they use, parsed by ElementTree as one document."""
    document = ET.fromstring(
        '<div xmlns="http://www.w3.org/2000/svg">' + "".join(drawn) + str(bars.symbols()) + "</div>"
    )
    outlines = {s.get("id"): s for s in document.iter(f"{SVG}symbol")}
    return [svg for svg in document if svg.get("class") == "readiness-bar compact"], outlines


def test_a_list_draws_each_outline_once_and_each_row_its_fills_and_counts():
    bars = CompactBars()
    other = Readiness(score=0, parts=[*_readiness().parts[:2]])  # two parts apply: another outline
    drawn = [str(bars.bar(_readiness())), str(bars.bar(_readiness())), str(bars.bar(other))]
    rows, outlines = _parse_list_bars(bars, drawn)
    assert len(rows) == 3 and len(outlines) == 2  # three bars, two shapes, each drawn once
    first = rows[0]
    assert first.find(f"{SVG}title").text == (
        "Knowledge-transfer checklist: 1 of 4; Shadows signed off: 2 of 2; "
        "ADRs decided: None recorded yet"
    )
    outline = outlines[first.find(f"{SVG}use").get("href").lstrip("#")]
    widths = {
        r.get("class"): float(r.get("width")) for r in outline.iter(f"{SVG}rect")
    }  # the outline: every applicable part, as wide as its weight
    found = {name: width for name, _x, width, _f, _t, _c in segments(_readiness())}
    assert widths == {
        "part-0": found["kt_checklist"],
        "part-1": found["shadows"],
        "part-2": found["adrs"],
    }
    filled = {r.get("class"): r.get("width") for r in first.iter(f"{SVG}rect")}
    # a quarter of the first part, all of the second, nothing drawn for the third
    assert filled == {
        "part-0 filled": f"{round(100 * found['kt_checklist'] / 4 / WIDTH, 1):g}%",
        "part-1 filled": f"{round(100 * found['shadows'] / WIDTH, 1):g}%",
    }
    assert rows[1].find(f"{SVG}use").get("href") == first.find(f"{SVG}use").get("href")
    assert rows[2].find(f"{SVG}use").get("href") != first.find(f"{SVG}use").get("href")


def test_a_list_with_no_bars_draws_no_outlines():
    assert str(CompactBars().symbols()) == ""


def test_a_hostile_label_is_escaped_in_a_list_bar():
    part = ReadinessPart("x", "<script>", 0, 1, '"><b>', weight=1)
    bars = CompactBars()
    drawn = str(bars.bar(Readiness(score=0, parts=[part])))
    assert "<script>" not in drawn
    _parse_list_bars(bars, [drawn])
