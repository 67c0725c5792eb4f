"""The action registry (workflows/actions.py): names and parameters the definitions may use,
each documented, with defaults that pass their own checks."""

from __future__ import annotations

from workflows.actions import ACTIONS, OUTCOMES
from workflows.params import validate_params


def test_every_action_documents_itself_and_its_defaults_are_valid():
    assert set(ACTIONS) >= {"set_trial_window", "create_milestones", "set_outcome"}
    for name, action in ACTIONS.items():
        assert action.name == name and len(action.description) > 20, name
        defaults = {k: s.default for k, s in action.params.items() if s.default is not None}
        required = [f"missing parameter '{k}'" for k, s in action.params.items() if s.required]
        assert validate_params(action.params, defaults) == required, name


def test_the_outcome_is_one_of_the_three_endings():
    spec = ACTIONS["set_outcome"].params["outcome"]
    assert spec.choices == OUTCOMES == ("completed", "terminated", "cancelled")
    assert validate_params(ACTIONS["set_outcome"].params, {"outcome": "abandoned"}) == [
        "parameter 'outcome' must be one of completed, terminated, cancelled"
    ]


def test_inputs_may_feed_only_the_parameters_that_accept_them():
    extension = ACTIONS["start_extension"].params
    assert validate_params(extension, {"months": "$input.months"}, {"months": "int"}) == []
    trial = ACTIONS["set_trial_window"].params
    assert validate_params(trial, {"days": "$input.days"}, {"days": "int"}) == [
        "parameter 'days' cannot take an input reference"
    ]
