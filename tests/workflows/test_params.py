"""Guard and action parameters checked at load time (workflows/params.py)."""

from __future__ import annotations

import pytest

from workflows.params import ParamSpec, input_reference, validate_params, with_defaults
from workflows.subject import DATE_KEYS

SPECS = {
    "count": ParamSpec("int", "how many", required=True, minimum=1),
    "days": ParamSpec("int_list", "offsets", default=[7, 1], minimum=0),
    "strict": ParamSpec("bool", "strict?"),
    "kind": ParamSpec("choice", "which", choices=("a", "b"), accepts_input=True),
    "anchor": ParamSpec("date_key", "date"),
    "reason": ParamSpec("str", "text", accepts_input=True),
}


def test_good_params_have_no_problems():
    params = {"count": 2, "days": [3, 0], "strict": False, "kind": "b", "anchor": "trial_end"}
    assert validate_params(SPECS, params) == []


def test_every_problem_is_named_with_its_parameter():
    params = {
        "count": 0,
        "days": [1, -1],
        "strict": "yes",
        "kind": "c",
        "anchor": "tomorrow",
        "reason": "",
        "colour": "red",
    }
    assert validate_params(SPECS, params) == [
        "unknown parameter 'colour'",
        "parameter 'count' must be at least 1",
        "parameter 'days' values must be at least 0",
        "parameter 'strict' must be true or false",
        "parameter 'kind' must be one of a, b",
        f"parameter 'anchor' must be one of {', '.join(DATE_KEYS)}",
        "parameter 'reason' must be a non-empty string",
    ]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (True, "must be an integer"),  # a bool is not a count
        ("3", "must be an integer"),
    ],
)
def test_an_integer_is_a_real_int(value, problem):
    assert validate_params(SPECS, {"count": value}) == [f"parameter 'count' {problem}"]


@pytest.mark.parametrize("days", [[], [1, True], "7"])
def test_an_int_list_is_a_non_empty_list_of_ints(days):
    assert validate_params(SPECS, {"count": 1, "days": days}) == [
        "parameter 'days' must be a non-empty list of integers"
    ]


def test_a_missing_required_parameter_is_named_and_optional_ones_are_not():
    assert validate_params(SPECS, {}) == ["missing parameter 'count'"]


def test_input_references_need_a_declared_compatible_input():
    inputs = {"why": "text", "n": "int", "pick": "choice"}
    assert validate_params(SPECS, {"count": 1, "reason": "$input.why"}, inputs) == []
    assert validate_params(SPECS, {"count": 1, "kind": "$input.pick"}, inputs) == []
    assert validate_params(SPECS, {"count": "$input.n"}, inputs) == [
        "parameter 'count' cannot take an input reference"
    ]
    assert validate_params(SPECS, {"count": 1, "reason": "$input.nope"}, inputs) == [
        "parameter 'reason' refers to input 'nope' which this transition does not declare"
    ]
    assert validate_params(SPECS, {"count": 1, "reason": "$input.n"}, inputs) == [
        "parameter 'reason' cannot take input 'n' of type int"
    ]
    assert validate_params(SPECS, {"count": 1, "reason": "$input.why"}) == [
        "parameter 'reason' refers to input 'why' which this transition does not declare"
    ]


def test_input_reference_reads_only_the_prefixed_form():
    assert input_reference("$input.reason") == "reason"
    assert input_reference("input.reason") is None
    assert input_reference(3) is None


def test_defaults_fill_only_what_is_missing_and_lists_are_copies():
    merged = with_defaults(SPECS, {"count": 2})
    assert merged == {"count": 2, "days": [7, 1]}
    merged["days"].append(99)
    assert SPECS["days"].default == [7, 1]
    assert with_defaults(SPECS, {"days": [5]})["days"] == [5]
