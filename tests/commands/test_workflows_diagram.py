"""`flask workflows diagram`: Mermaid, DOT and SVG, with the --current state highlighted."""

from __future__ import annotations

import pytest

from tests.commands.conftest import write_v2

HIGHLIGHT = {
    "mermaid": "    class trial current\n",
    "dot": 'trial [label="Trial", fillcolor="#fde68a", color="#b45309", penwidth=2, class="cur',
    "svg": '<g class="state current" id="state-trial">',
}
START = {"mermaid": "stateDiagram-v2\n", "dot": 'digraph "staff_augmentation" {', "svg": "<svg "}


@pytest.mark.parametrize("fmt", sorted(HIGHLIGHT))
def test_diagram_highlights_the_current_state_in_every_format(cli, fmt):
    result = cli("diagram", "staff_augmentation", "--format", fmt, "--current", "trial")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(START[fmt])
    assert HIGHLIGHT[fmt] in result.output
    if fmt == "dot":
        assert '"#b45309", penwidth=2, class="current"];\n' in result.output
    assert result.output.count("current") == (2 if fmt == "mermaid" else 1)


@pytest.mark.parametrize("fmt", sorted(HIGHLIGHT))
def test_diagram_without_current_highlights_nothing(cli, fmt):
    result = cli("diagram", "staff_augmentation", "--format", fmt)
    assert result.exit_code == 0
    assert "current" not in result.output
    assert "milestone_review" in result.output and "knowledge_transfer" in result.output


def test_diagram_draws_the_requested_version(cli, workflow_dir):
    write_v2(workflow_dir)
    latest = cli("diagram", "staff_augmentation", "--current", "extension_period")
    assert "class extension_period current" in latest.output
    v1 = cli("diagram", "staff_augmentation", "--version", "1", "--format", "dot")
    assert "  extension [" in v1.output and "extension_period" not in v1.output


def test_diagram_refuses_an_unknown_state_name_or_version(cli):
    bad_state = cli("diagram", "staff_augmentation", "--current", "trail")
    assert bad_state.exit_code == 2
    assert "no state 'trail'" in bad_state.output and "discovery" in bad_state.output
    bad_name = cli("diagram", "staff_aug")
    assert bad_name.exit_code == 2 and "No workflow definition named 'staff_aug'" in bad_name.output
    bad_version = cli("diagram", "staff_augmentation", "--version", "9")
    assert bad_version.exit_code == 1 and "version 9" in bad_version.output
    bad_format = cli("diagram", "staff_augmentation", "--format", "png")
    assert bad_format.exit_code == 2 and "png" in bad_format.output
