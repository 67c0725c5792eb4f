"""Checking the inputs an actor supplies when firing a transition, against its InputSpecs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from .definition import InputSpec
from .errors import InvalidInputs


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_problem(spec: InputSpec, value: object) -> str | None:
    if not _is_int(value):
        return "Enter a whole number."
    if spec.min is not None and value < spec.min:
        return f"Must be at least {spec.min}."
    if spec.max is not None and value > spec.max:
        return f"Must be at most {spec.max}."
    return None


def _problem(spec: InputSpec, value: object) -> str | None:
    """What is wrong with a supplied (non-empty) value, or None."""
    if spec.type == "int":
        return _int_problem(spec, value)
    if spec.type == "date":
        ok = isinstance(value, date) and not isinstance(value, datetime)
        return None if ok else "Enter a date."
    if not isinstance(value, str):
        return "Enter text."
    if spec.type == "choice" and value not in spec.choices:
        return f"Choose one of: {', '.join(spec.choices)}."
    if spec.max_length is not None and len(value) > spec.max_length:
        return f"Must be at most {spec.max_length} characters (got {len(value)})."
    return None


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean_inputs(specs: tuple[InputSpec, ...], supplied: Mapping[str, object]) -> dict:
    """Typed, stripped inputs; raises InvalidInputs naming every bad or unknown field."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, object] = {}
    known = {spec.name for spec in specs}
    for name in supplied:
        if name not in known:
            errors[name] = ["This transition takes no such input."]
    for spec in specs:
        value = supplied.get(spec.name)
        if isinstance(value, str):
            value = value.strip()
        if _is_blank(value):
            if spec.required:
                errors[spec.name] = ["This field is required."]
            cleaned[spec.name] = None
            continue
        problem = _problem(spec, value)
        if problem:
            errors[spec.name] = [problem]
        cleaned[spec.name] = value
    if errors:
        raise InvalidInputs(errors)
    return cleaned
