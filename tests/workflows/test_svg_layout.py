"""The lifecycle diagram's edge labels: no two label boxes meet and none covers a state box,
for every shipped definition and for a generated one crowded with transitions."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from workflows import load_definition, to_svg
from workflows.diagram import svg_layout
from workflows.svg_layout import LABEL_FONT

DEFINITIONS = sorted((Path(__file__).resolve().parents[2] / "workflows/definitions").glob("*.toml"))
SVG = "{http://www.w3.org/2000/svg}"


def _meet(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _assert_apart(layout) -> None:
    labels, nodes = layout.label_rects(), layout.node_rects()
    assert labels, "the diagram should have edge labels"
    for a, b in itertools.combinations(labels, 2):
        assert not _meet(a, b), (a, b)
    for label, node in itertools.product(labels, nodes):
        assert not _meet(label, node), (label, node)
    for left, top, right, _ in labels:
        assert left >= 0 and right <= layout.width and top >= 0, (left, top, right)


def _crowded(tmp_path, states: int = 7) -> Path:
    """A chain of states where every open state can go to every later one and back one,
    with long labels: far more edges than the shipped workflows have."""
    names = [f"s{i}" for i in range(states)]
    text = ['name = "crowded"', "version = 1", ""]
    for i, name in enumerate(names):
        text.append(f"[states.{name}]")
        text.append(f'label = "Stage number {i} of the work"')
        if i == 0:
            text.append("initial = true")
        if i == states - 1:
            text.append("final = true")
        text.append("")
    for i, source in enumerate(names[:-1]):
        targets = names[i + 1 :] + ([names[i - 1]] if i else [])
        for target in targets:
            text += [
                "[[transitions]]",
                f'event = "{source}_to_{target}"',
                f'label = "Move the work on from {source} to {target}"',
                f'from = "{source}"',
                f'to = "{target}"',
                'roles = ["manager"]',
                "",
            ]
    path = tmp_path / "crowded.toml"
    path.write_text("\n".join(text))
    return path


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda p: p.stem)
def test_no_edge_label_meets_another_or_a_state_in_a_shipped_definition(path):
    _assert_apart(svg_layout(load_definition(path)))


def test_no_edge_label_meets_another_or_a_state_when_crowded(tmp_path):
    definition = load_definition(_crowded(tmp_path))
    layout = svg_layout(definition)
    assert len(layout.labels) >= 20
    _assert_apart(layout)


def test_the_svg_draws_every_label_where_the_layout_put_it_and_fits_them(tmp_path):
    definition = load_definition(_crowded(tmp_path))
    layout = svg_layout(definition)
    root = ET.fromstring(to_svg(definition))
    drawn = [t for t in root.iter(f"{SVG}text") if t.get("class") == "label"]
    assert len(drawn) == sum(len(p.label.lines) for p in layout.labels)
    assert {float(t.get("font-size")) for t in drawn} == {LABEL_FONT} and LABEL_FONT >= 11
    height = float(root.get("height"))
    assert all(rect[3] <= height for rect in layout.label_rects())  # the drawing grew to fit
