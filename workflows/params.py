"""Parameter specifications shared by the guard and action registries, checked at load time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .subject import DATE_KEYS

INPUT_PREFIX = "$input."
# Which input types may feed a parameter of each kind through "$input.<name>".
_INPUT_COMPATIBLE = {"int": {"int"}, "str": {"text", "choice"}, "choice": {"choice"}}


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: its kind (int, str, bool, int_list, choice, date_key), default and limits."""

    kind: str
    description: str
    required: bool = False
    default: object = None
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    accepts_input: bool = False


def input_reference(value: object) -> str | None:
    """The input name in "$input.<name>", or None when value is not such a reference."""
    if isinstance(value, str) and value.startswith(INPUT_PREFIX):
        return value[len(INPUT_PREFIX) :]
    return None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_int(spec: ParamSpec, value: object) -> str | None:
    if not _is_int(value):
        return "must be an integer"
    if spec.minimum is not None and value < spec.minimum:
        return f"must be at least {spec.minimum}"
    return None


def _check_value(spec: ParamSpec, value: object) -> str | None:
    """A problem with a literal value, or None when it fits the spec."""
    if spec.kind == "int":
        return _check_int(spec, value)
    if spec.kind == "int_list":
        if not isinstance(value, list) or not value or not all(_is_int(v) for v in value):
            return "must be a non-empty list of integers"
        if spec.minimum is not None and min(value) < spec.minimum:
            return f"values must be at least {spec.minimum}"
    elif spec.kind == "bool" and not isinstance(value, bool):
        return "must be true or false"
    elif spec.kind in ("str", "choice", "date_key") and not (isinstance(value, str) and value):
        return "must be a non-empty string"
    elif spec.kind == "choice" and value not in spec.choices:
        return f"must be one of {', '.join(spec.choices)}"
    elif spec.kind == "date_key" and value not in DATE_KEYS:
        return f"must be one of {', '.join(DATE_KEYS)}"
    return None


def _check_reference(spec: ParamSpec, name: str, inputs: Mapping[str, str] | None) -> str | None:
    if not spec.accepts_input:
        return "cannot take an input reference"
    if inputs is None or name not in inputs:
        return f"refers to input '{name}' which this transition does not declare"
    if inputs[name] not in _INPUT_COMPATIBLE.get(spec.kind, set()):
        return f"cannot take input '{name}' of type {inputs[name]}"
    return None


def validate_params(
    specs: Mapping[str, ParamSpec],
    params: Mapping[str, object],
    inputs: Mapping[str, str] | None = None,
) -> list[str]:
    """Every problem with params against specs; inputs maps declared input names to types."""
    errors = [f"unknown parameter '{k}'" for k in params if k not in specs]
    for key, spec in specs.items():
        if key not in params:
            if spec.required:
                errors.append(f"missing parameter '{key}'")
            continue
        ref = input_reference(params[key])
        if ref is not None:
            problem = _check_reference(spec, ref, inputs)
        else:
            problem = _check_value(spec, params[key])
        if problem:
            errors.append(f"parameter '{key}' {problem}")
    return errors


def with_defaults(specs: Mapping[str, ParamSpec], params: Mapping[str, object]) -> dict:
    """params plus each missing parameter's default (lists copied, so callers can't mutate)."""
    merged = {k: s.default for k, s in specs.items() if k not in params and s.default is not None}
    merged.update(params)
    return {k: list(v) if isinstance(v, list) else v for k, v in merged.items()}
