"""The engine's errors (workflows/errors.py): messages a person can act on, and the
structured parts the API answers with."""

from __future__ import annotations

import pytest

from workflows.errors import (
    InvalidDefinition,
    InvalidExpression,
    InvalidInputs,
    TransitionNotAllowed,
    UnknownDefinition,
    UnknownEvent,
    WorkflowError,
)
from workflows.outcomes import Unmet


def test_an_unknown_event_names_the_state_and_what_may_be_fired():
    error = UnknownEvent("trial", "extend", ["convert", "cancel"])
    assert str(error) == (
        "Event 'extend' is not defined from state 'trial'; available events: convert, cancel"
    )
    assert error.available == ("convert", "cancel")
    assert str(UnknownEvent("closed", "reopen", [])).endswith("available events: none")


def test_invalid_inputs_keep_every_field_and_copy_the_lists():
    messages = ["Enter a whole number."]
    error = InvalidInputs({"months": messages, "reason": ["This field is required."]})
    messages.append("changed later")
    assert error.errors == {
        "months": ["Enter a whole number."],
        "reason": ["This field is required."],
    }
    assert str(error) == (
        "Invalid inputs: months: Enter a whole number.; reason: This field is required."
    )


def test_a_refused_transition_carries_every_unmet_requirement_in_order():
    unmet = [Unmet("team_empty", "The team has no members yet."), Unmet("date_missing", "No date.")]
    error = TransitionNotAllowed(iter(unmet))
    assert error.codes == ("team_empty", "date_missing")
    assert str(error) == "The team has no members yet. No date."
    assert str(TransitionNotAllowed([])) == "transition not allowed"


def test_the_errors_share_one_base_and_the_python_kinds_they_are():
    for error in (
        InvalidDefinition(["f.toml: states: no initial state"]),
        InvalidExpression("bad"),
        UnknownDefinition("nope"),
    ):
        assert isinstance(error, WorkflowError)
    with pytest.raises(ValueError):
        raise InvalidExpression("bad duration")
    with pytest.raises(LookupError):
        raise UnknownDefinition("no definition 'x'")
