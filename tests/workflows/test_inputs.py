"""The inputs an actor supplies when firing a transition (workflows/inputs.py)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from workflows.definition import InputSpec
from workflows.errors import InvalidInputs
from workflows.inputs import clean_inputs

SPECS = (
    InputSpec("months", "int", "Months", min=1, max=12),
    InputSpec("reason", "text", "Reason", max_length=10),
    InputSpec("resume_on", "date", "Resume on", required=False),
    InputSpec("kind", "choice", "Kind", required=False, choices=("early", "late")),
)


def _errors(supplied) -> dict:
    with pytest.raises(InvalidInputs) as refused:
        clean_inputs(SPECS, supplied)
    return refused.value.errors


def test_good_inputs_are_stripped_and_blank_optional_ones_are_none():
    cleaned = clean_inputs(SPECS, {"months": 12, "reason": "  budget  ", "kind": "  "})
    assert cleaned == {"months": 12, "reason": "budget", "resume_on": None, "kind": None}


def test_every_bad_or_unknown_field_is_named_at_once():
    errors = _errors(
        {
            "months": 13,
            "reason": "far too long a reason",
            "resume_on": datetime(2026, 1, 1, 9),
            "kind": "soon",
            "colour": "red",
        }
    )
    assert errors == {
        "colour": ["This transition takes no such input."],
        "months": ["Must be at most 12."],
        "reason": ["Must be at most 10 characters (got 21)."],
        "resume_on": ["Enter a date."],
        "kind": ["Choose one of: early, late."],
    }


@pytest.mark.parametrize(
    ("months", "message"),
    [(0, "Must be at least 1."), (True, "Enter a whole number."), ("3", "Enter a whole number.")],
)
def test_a_whole_number_within_its_bounds(months, message):
    assert _errors({"months": months, "reason": "x"}) == {"months": [message]}


def test_required_fields_refuse_blank_and_missing_values():
    assert _errors({"reason": "   "}) == {
        "months": ["This field is required."],
        "reason": ["This field is required."],
    }


def test_text_must_be_text_and_a_date_a_date():
    assert _errors({"months": 1, "reason": 5}) == {"reason": ["Enter text."]}
    cleaned = clean_inputs(SPECS, {"months": 1, "reason": "x", "resume_on": date(2026, 1, 2)})
    assert cleaned["resume_on"] == date(2026, 1, 2)
