"""Readiness drawn as a bar of its parts: widths follow the weights, fills the progress."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests.factories import make_engagement
from tracker.extensions import db
from tracker.models import User
from tracker.services.judgments.readiness import Readiness, ReadinessPart
from tracker.web.support.readiness_bar import GAP, WIDTH, readiness_bar_svg, segments

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
