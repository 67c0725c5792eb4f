"""A loaded definition's parts (workflows/definition.py): what a state, a transition and an
input say about themselves (tests/workflows/test_loader.py builds them from files)."""

from __future__ import annotations

import json

from workflows.definition import PREVIOUS, InputSpec, State, Transition


def test_a_state_is_a_period_only_with_that_phase():
    assert State("extension", "Extension", phase="period").is_period
    assert not State("review", "Review", phase="review").is_period
    assert not State("discovery", "Discovery").is_period  # "active" by default


def test_a_transition_to_previous_is_a_history_transition():
    resume = Transition("resume", ("on_hold",), PREVIOUS, "Resume", ("manager",))
    hold = Transition("hold", ("trial",), "on_hold", "Put on hold", ("manager",))
    assert resume.history and not hold.history


def test_an_input_serialises_for_a_form_with_every_limit():
    spec = InputSpec("kind", "choice", "Kind", required=False, choices=("early", "late"))
    assert json.loads(json.dumps(spec.to_dict())) == {
        "name": "kind",
        "type": "choice",
        "label": "Kind",
        "required": False,
        "min": None,
        "max": None,
        "max_length": None,
        "choices": ["early", "late"],
        "help": "",
    }
