"""Diagrams of a definition (workflows/diagram.py): Mermaid, DOT and self-contained SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests.workflows.workflow_facts import MINIMAL
from workflows import (
    to_dot,
    to_mermaid,
    to_svg,
)

SVG = "{http://www.w3.org/2000/svg}"


def test_mermaid_lists_every_state_and_highlights_the_current_one(catalog):
    definition = catalog.get("staff_augmentation")
    text = to_mermaid(definition, current="trial")
    assert text.startswith("stateDiagram-v2\n    [*] --> discovery\n")
    for name in definition.states:
        assert f"    {name}: " in text
    assert "    discovery --> trial: Start the trial" in text
    assert "    class trial current" in text
    assert "class" not in to_mermaid(definition)


def test_dot_fills_only_the_current_state(catalog):
    text = to_dot(catalog.get("staff_augmentation"), current="extension")
    lines = [line for line in text.splitlines() if 'fillcolor="#fde68a"' in line]
    assert len(lines) == 1 and lines[0].strip().startswith("extension [")
    assert 'closed [label="Closed", peripheries=2]' in text
    assert 'milestone_review -> extension [label="Extend the engagement"]' in text


def svg_tree(text: str) -> ET.Element:
    return ET.fromstring(text)


def test_svg_is_self_contained_and_highlights_the_current_state(catalog):
    definition = catalog.get("staff_augmentation")
    text = to_svg(definition, current="milestone_review")
    root = svg_tree(text)
    assert root.tag == f"{SVG}svg" and int(root.get("width")) <= 960
    assert "<script" not in text and "http" not in text.replace("http://www.w3.org/2000/svg", "")
    groups = {g.get("id"): g for g in root.iter(f"{SVG}g") if g.get("id")}
    assert set(groups) == {f"state-{name}" for name in definition.states}
    assert "current" in groups["state-milestone_review"].get("class").split()
    assert [g for g in groups.values() if "current" in g.get("class").split()] == [
        groups["state-milestone_review"]
    ]
    assert len(groups["state-closed"].findall(f"{SVG}rect")) == 2  # double border
    assert len(groups["state-trial"].findall(f"{SVG}rect")) == 1
    assert "From any open state: Terminate the engagement" in text


def test_svg_escapes_labels(tmp_path):
    path = tmp_path / "mini.toml"
    path.write_text(MINIMAL.replace("[states.b]", '[states.b]\nlabel = "R&D <review> \\"x\\""'))
    from workflows import load_definition

    text = to_svg(load_definition(path), current="b")
    assert "R&amp;D &lt;review&gt;" in text
    texts = "".join(t.text or "" for t in svg_tree(text).iter(f"{SVG}text"))
    assert "R&D <review>" in texts
