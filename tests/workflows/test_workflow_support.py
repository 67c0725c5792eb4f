"""Expressions, catalog, migration planning, diagrams, and the no-Flask import rule."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest
from workflow_facts import DATES, MINIMAL

from workflows import (
    Catalog,
    InvalidDefinition,
    InvalidExpression,
    WorkflowError,
    plan_migration,
    resolve_offset,
    to_dot,
    to_mermaid,
    to_svg,
)
from workflows.errors import UnknownDefinition

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("trial_end", date(2025, 5, 30)),
        ("trial_end - 7d", date(2025, 5, 23)),
        ("trial_start + 30d", date(2025, 3, 31)),
        ("period_end-2w", date(2025, 5, 16)),
    ],
)
def test_resolve_offset(expr, expected):
    assert resolve_offset(expr, DATES) == expected


def test_resolve_offset_is_none_while_the_anchor_is_unset():
    assert resolve_offset("period_end - 7d", {**DATES, "period_end": None}) is None


@pytest.mark.parametrize(
    "expr", ["trial_end - 7", "trial_end * 2d", "tomorrow", "trial_end - 3h", ""]
)
def test_bad_offset_expressions_raise(expr):
    with pytest.raises(InvalidExpression):
        resolve_offset(expr, DATES)


def test_catalog_keeps_several_versions_and_defaults_to_the_latest(tmp_path):
    (tmp_path / "mini.toml").write_text(MINIMAL)
    (tmp_path / "mini.v2.toml").write_text(MINIMAL.replace("version = 1", "version = 2"))
    catalog = Catalog.load(tmp_path)
    assert catalog.versions("mini") == [1, 2]
    assert catalog.get("mini").version == 2 == catalog.latest("mini").version
    assert catalog.get("mini", 1).version == 1
    with pytest.raises(UnknownDefinition, match="known versions: 1, 2"):
        catalog.get("mini", 3)
    with pytest.raises(UnknownDefinition):
        catalog.latest("other")


def test_catalog_aggregates_errors_across_files(tmp_path):
    (tmp_path / "a.toml").write_text(MINIMAL.replace('to = "b"', 'to = "x"'))
    (tmp_path / "b.toml").write_text(MINIMAL.replace("version = 1", 'version = "one"'))
    (tmp_path / "c.toml").write_text(MINIMAL)
    (tmp_path / "d.toml").write_text(MINIMAL)
    with pytest.raises(InvalidDefinition) as caught:
        Catalog.load(tmp_path)
    files = [error.split(":")[0] for error in caught.value.errors]
    assert {"a.toml", "b.toml", "d.toml"} <= set(files)
    assert any("mini v1 is also defined in c.toml" in e for e in caught.value.errors)


def test_shipped_catalog_has_both_lifecycles(catalog):
    assert catalog.names() == ["fractional_lead", "staff_augmentation"]


@pytest.fixture
def renamed(tmp_path, catalog):
    """staff_augmentation v4 where milestone_review is renamed to review."""
    source = Path(catalog.get("staff_augmentation", 4).source)
    text = source.read_text(encoding="utf-8")
    text = text.replace("version = 2", "version = 3").replace("milestone_review", "review")
    path = tmp_path / "staff_augmentation.v3.toml"
    path.write_text(text)
    from workflows import load_definition

    return load_definition(path)


def test_migration_flags_states_missing_in_the_target(catalog, renamed):
    current = catalog.get("staff_augmentation", 4)
    results = plan_migration(current, renamed, {2: "milestone_review", 1: "trial"}, {})
    assert [(r.engagement_id, r.to_state, r.ok) for r in results] == [
        (1, "trial", True),
        (2, "milestone_review", False),
    ]
    assert (
        "state 'milestone_review' does not exist in staff_augmentation v4" in results[1].problems[0]
    )
    assert "--map milestone_review=<state>" in results[1].problems[0]


def test_migration_with_a_map_succeeds(catalog, renamed):
    current = catalog.get("staff_augmentation", 4)
    [result] = plan_migration(
        current, renamed, {7: "milestone_review"}, {"milestone_review": "review"}
    )
    assert (result.from_state, result.to_state, result.ok, result.problems) == (
        "milestone_review",
        "review",
        True,
        (),
    )


def test_migration_refuses_to_reopen_closed_engagements(catalog, renamed):
    current = catalog.get("staff_augmentation", 4)
    [result] = plan_migration(current, renamed, {3: "closed"}, {"closed": "trial"})
    assert not result.ok and "would be reopened" in result.problems[0]


def test_migration_map_must_name_existing_states(catalog, renamed):
    with pytest.raises(WorkflowError, match="reviw"):
        plan_migration(catalog.get("staff_augmentation", 4), renamed, {}, {"reviw": "review"})


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


def test_importing_workflows_loads_no_flask_and_no_sqlalchemy():
    code = (
        "import sys, workflows; workflows.Catalog.load();"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'flask', 'sqlalchemy', 'flask_sqlalchemy', 'werkzeug', 'tracker'});"
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=repo
    )
    assert result.returncode == 0, result.stdout + result.stderr
