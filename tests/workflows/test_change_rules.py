"""Which changes need a change request, per state, and the drift rule: parsed and checked
at load like the rest of a definition (issue 31)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.workflows.workflow_facts import MINIMAL
from workflows import DEFINITIONS_DIR, InvalidDefinition, load_definition, parse_definition
from workflows.change_rules import CHANGE_KINDS


def _with(old: str, new: str) -> bytes:
    assert old in MINIMAL
    return MINIMAL.replace(old, new, 1).encode()


def test_the_default_definition_contracts_every_kind_in_trial_and_extension_only():
    definition = load_definition(DEFINITIONS_DIR / "staff_augmentation.toml")
    assert definition.change_request_states == ("trial", "extension")
    for name, state in definition.states.items():
        expected = set(CHANGE_KINDS) if name in ("trial", "extension") else set()
        assert set(state.change_requests) == expected, name
        assert state.needs_change_request("monthly_cost") == (name in ("trial", "extension"))
    assert definition.health.drift_slip_after == timedelta(days=21)
    assert definition.health.drift_cost_percent == 15.0


def test_a_state_lists_its_kinds_and_the_health_table_tunes_drift():
    text = _with("[states.b]\n", '[states.b]\nchange_requests = ["milestone_due_date"]\n')
    text += b'\n[health]\ndrift_slip_after = "2w"\ndrift_cost_percent = 7.5\n'
    definition = parse_definition(text)
    assert definition.states["b"].change_requests == ("milestone_due_date",)
    assert not definition.states["b"].needs_change_request("monthly_cost")
    assert definition.states["a"].change_requests == ()
    assert definition.health.drift_slip_after == timedelta(days=14)
    assert definition.health.drift_cost_percent == 7.5


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "[states.b]\n",
            '[states.b]\nchange_requests = ["budget"]\n',
            "unknown change kind 'budget'",
        ),
        ("[states.b]\n", '[states.b]\nchange_requests = "monthly_cost"\n', "must be a list"),
        (
            "[states.b]\n",
            '[states.b]\nchange_requests = ["period_end", "period_end"]\n',
            "listed more than once",
        ),
        (
            "[states.done]\nfinal = true\n",
            '[states.done]\nfinal = true\nchange_requests = ["period_end"]\n',
            "a final state cannot require change requests",
        ),
    ],
)
def test_bad_change_rules_are_refused_naming_the_state(old, new, message):
    with pytest.raises(InvalidDefinition) as caught:
        parse_definition(_with(old, new), "staff.toml")
    assert any("states." in e and message in e for e in caught.value.errors), caught.value.errors


@pytest.mark.parametrize("value", ['"15%"', "0", "-3", "true"])
def test_a_drift_cost_share_that_is_not_a_positive_number_is_refused(value):
    text = MINIMAL.encode() + f"\n[health]\ndrift_cost_percent = {value}\n".encode()
    with pytest.raises(InvalidDefinition) as caught:
        parse_definition(text, "staff.toml")
    assert any("health.drift_cost_percent" in e for e in caught.value.errors)
