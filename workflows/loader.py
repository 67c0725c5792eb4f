"""Loading a TOML definition into Definition objects, collecting every error with file and entry."""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from . import meaning, reminders, validation
from .actions import ACTIONS
from .change_rules import parse_change_kinds
from .definition import (
    PREVIOUS,
    ActionCall,
    ChecklistBinding,
    Definition,
    GuardCall,
    InputSpec,
    State,
    TimerSpec,
    Transition,
)
from .errors import InvalidDefinition, InvalidExpression
from .expressions import parse_offset
from .facts import FACTS, FactCall
from .guards import GUARDS
from .handover import parse_handover
from .hiring import parse_hiring
from .params import validate_params, with_defaults
from .problems import Problems
from .subject import ROLES

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_TOP_KEYS = {"name", "version", "title", "description", "states", "transitions", "reminders"}
_TOP_KEYS |= {"health", "readiness"}
_TOP_KEYS |= {"checklist"}
_TOP_KEYS |= {"handover"}
_TOP_KEYS |= {"hiring"}
_STATE_KEYS = {"label", "initial", "final", "on_enter", "timers", "description"}
_STATE_KEYS |= {"phase", "period", "tone"}
_STATE_KEYS |= {"change_requests"}
_TRANSITION_KEYS = {"event", "from", "to", "label", "roles", "guards", "inputs", "actions"}
_TRANSITION_KEYS |= {"overridable", "description"}
_INPUT_KEYS = {"name", "type", "label", "required", "min", "max", "max_length", "choices", "help"}
INPUT_TYPES = ("text", "int", "choice", "date")


def parse_definition(data: bytes, source: str = "<string>") -> Definition:
    """Parse and validate definition bytes; raise InvalidDefinition listing every problem."""
    label = Path(source).name
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidDefinition([f"{label}: invalid TOML: {exc}"]) from None
    problems = Problems(label)
    fields = _parse_document(raw, problems)
    if problems:
        raise InvalidDefinition(problems.messages)
    digest = hashlib.sha256(data).hexdigest()
    return Definition(**fields, content_hash=digest, source=source)


def load_definition(path: str | Path) -> Definition:
    """Load and validate one definition file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidDefinition([f"{path.name}: cannot read file: {exc.strerror}"]) from None
    return parse_definition(data, str(path))


def _parse_document(raw: dict, problems: Problems) -> dict[str, Any]:
    for key in raw.keys() - _TOP_KEYS:
        problems.add(key, "unknown top-level key")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        problems.add("name", "missing or not a lowercase identifier (e.g. 'staff_augmentation')")
    version = raw.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.add("version", "missing or not a positive integer")
    states = _parse_states(raw.get("states"), problems)
    transitions = _parse_transitions(raw.get("transitions", []), states, problems)
    validation.check(states, transitions, problems)
    rules = reminders.parse_reminders(raw.get("reminders", []), states, problems)
    checklist = _parse_checklist(raw.get("checklist", []), problems)
    return {
        "checklist": tuple(checklist),
        "name": name,
        "version": version,
        "title": _text(raw, "title", "title", problems, default=str(name)),
        "description": _text(raw, "description", "description", problems, default=""),
        "states": MappingProxyType(states),
        "transitions": tuple(transitions),
        "reminders": tuple(rules),
        "health": meaning.parse_health(raw.get("health"), problems),
        "readiness": meaning.parse_readiness(raw.get("readiness"), problems),
        "handover": parse_handover(raw.get("handover"), problems),
        "hiring": parse_hiring(raw.get("hiring"), problems),
    }


def _text(table: Mapping, key: str, where: str, problems: Problems, default: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        problems.add(where, f"'{key}' must be a string")
        return default
    return value


def _flag(table: Mapping, key: str, where: str, problems: Problems, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        problems.add(where, f"'{key}' must be true or false")
        return default
    return value


def _table_list(value: object, where: str, problems: Problems) -> list:
    if not isinstance(value, list):
        problems.add(where, "must be a list")
        return []
    return value


def _parse_states(raw: object, problems: Problems) -> dict[str, State]:
    if not isinstance(raw, dict) or not raw:
        problems.add("states", "missing: define at least one [states.<name>] table")
        return {}
    states = {}
    for name, table in raw.items():
        where = f"states.{name}"
        if not _NAME.match(name):
            problems.add(where, "state names must be lowercase identifiers")
        if not isinstance(table, dict):
            problems.add(where, "must be a table")
            continue
        for key in table.keys() - _STATE_KEYS:
            problems.add(where, f"unknown key '{key}'")
        initial = _flag(table, "initial", where, problems, default=False)
        final = _flag(table, "final", where, problems, default=False)
        phase, period, tone = meaning.parse_state_meaning(
            table, where, problems, initial=initial, final=final
        )
        states[name] = State(
            name=name,
            label=_text(table, "label", where, problems, default=name.replace("_", " ").title()),
            initial=initial,
            final=final,
            on_enter=_parse_actions(table.get("on_enter", []), f"{where}.on_enter", problems),
            timers=_parse_timers(table.get("timers", []), where, problems),
            description=_text(table, "description", where, problems, default=""),
            phase=phase,
            period=period,
            tone=tone,
            change_requests=parse_change_kinds(table, where, problems),
        )
    return states


def _parse_timers(raw: object, where: str, problems: Problems) -> tuple[TimerSpec, ...]:
    timers = []
    for i, entry in enumerate(_table_list(raw, f"{where}.timers", problems)):
        spot = f"{where}.timers[{i}]"
        if not isinstance(entry, dict) or set(entry) != {"event", "at"}:
            problems.add(spot, "must be a table with exactly 'event' and 'at'")
            continue
        try:
            timers.append(TimerSpec(entry["event"], entry["at"], parse_offset(entry["at"])))
        except InvalidExpression as exc:
            problems.add(spot, str(exc))
    return tuple(timers)


def _split_call(entry: object, key: str) -> tuple[str | None, dict]:
    """("name", params) from either "name" or {name = "...", param = ...}."""
    if isinstance(entry, str):
        return entry, {}
    if isinstance(entry, dict) and isinstance(entry.get(key), str):
        return entry[key], {k: v for k, v in entry.items() if k != key}
    return None, {}


def _parse_actions(
    raw: object, where: str, problems: Problems, inputs: Mapping[str, str] | None = None
) -> tuple[ActionCall, ...]:
    """Parse action calls; params are checked here only when `inputs` is given (transitions)."""
    calls = []
    for i, entry in enumerate(_table_list(raw, where, problems)):
        name, params = _split_call(entry, "name")
        spot = f"{where}[{i}]"
        if name is None:
            problems.add(spot, "must be an action name or a table with 'name'")
        elif name not in ACTIONS:
            problems.add(spot, f"unknown action '{name}' (known: {', '.join(ACTIONS)})")
        else:
            spec = ACTIONS[name].params
            if inputs is not None:
                for error in validate_params(spec, params, inputs):
                    problems.add(spot, f"action '{name}': {error}")
            calls.append(ActionCall(name, MappingProxyType(with_defaults(spec, params))))
    return tuple(calls)


def _resolve_call(entry: object, registry: Mapping, noun: str, spot: str, problems: Problems):
    """(name, params with defaults) of a call to a registered guard or fact, checked
    against its parameter specs; None (with the problem added) for an unknown name."""
    name, params = _split_call(entry, "name")
    if name is None:
        problems.add(spot, f"each {noun} must be a name or a table with 'name'")
        return None
    if name not in registry:
        problems.add(spot, f"unknown {noun} '{name}' (known: {', '.join(registry)})")
        return None
    spec = registry[name].params
    for error in validate_params(spec, params):
        problems.add(spot, f"{noun} '{name}': {error}")
    return name, MappingProxyType(with_defaults(spec, params))


def _parse_guards(raw: object, where: str, problems: Problems) -> tuple[GuardCall, ...]:
    calls = []
    for entry in _table_list(raw, f"{where}: guards", problems):
        resolved = _resolve_call(entry, GUARDS, "guard", where, problems)
        if resolved is not None:
            calls.append(GuardCall(*resolved))
    return tuple(calls)


def _parse_fact(entry: object, spot: str, problems: Problems) -> FactCall | None:
    resolved = _resolve_call(entry, FACTS, "fact", spot, problems)
    return FactCall(*resolved) if resolved is not None else None


def _parse_checklist(raw: object, problems: Problems) -> list[ChecklistBinding]:
    """[[checklist]] entries: `key` (a template item's key) bound to a `fact`."""
    bindings: list[ChecklistBinding] = []
    for i, table in enumerate(_table_list(raw, "checklist", problems)):
        key = table.get("key") if isinstance(table, dict) else None
        spot = f"checklist[{i}] ({key})" if isinstance(key, str) else f"checklist[{i}]"
        if not isinstance(table, dict) or set(table) != {"key", "fact"}:
            problems.add(spot, "must be a table with exactly 'key' and 'fact'")
            continue
        if not isinstance(key, str) or not _NAME.match(key):
            problems.add(spot, "'key' must be a lowercase identifier (a checklist item's key)")
            continue
        if any(b.key == key for b in bindings):
            problems.add(spot, f"key '{key}' is bound more than once")
        fact = _parse_fact(table["fact"], spot, problems)
        if fact is not None:
            bindings.append(ChecklistBinding(key, fact))
    return bindings


def _check_guard_inputs(guards, inputs, where: str, problems: Problems) -> None:
    """A guard that reads an input needs the transition to declare it (as optional text)."""
    declared = {spec.name: spec for spec in inputs}
    for call in guards:
        for name in GUARDS[call.name].inputs:
            spec = declared.get(name)
            if spec is None or spec.type != "text":
                problems.add(where, f"guard '{call.name}' reads text input '{name}': declare it")
            elif spec.required:
                problems.add(where, f"guard '{call.name}': input '{name}' must be optional")


def _parse_transitions(raw: object, states: dict[str, State], problems: Problems) -> list:
    transitions = []
    for i, table in enumerate(_table_list(raw, "transitions", problems)):
        event = table.get("event") if isinstance(table, dict) else None
        where = f"transitions[{i}] ({event})" if isinstance(event, str) else f"transitions[{i}]"
        if not isinstance(table, dict):
            problems.add(where, "must be a table")
            continue
        transition = _parse_transition(table, i, where, states, problems)
        if transition is not None:
            transitions.append(transition)
    return transitions


def _parse_transition(
    table: dict, index: int, where: str, states: dict[str, State], problems: Problems
) -> Transition | None:
    for key in table.keys() - _TRANSITION_KEYS:
        problems.add(where, f"unknown key '{key}'")
    event, to = table.get("event"), table.get("to")
    if not isinstance(event, str) or not _NAME.match(event):
        problems.add(where, "'event' missing or not a lowercase identifier")
    if to not in states and to != PREVIOUS:
        problems.add(where, f"unknown target state '{to}'")
    from_states, from_any = _parse_from(table.get("from"), to, where, states, problems)
    inputs = _parse_inputs(table.get("inputs", []), where, problems)
    input_types = {spec.name: spec.type for spec in inputs}
    actions = _parse_actions(table.get("actions", []), f"{where}: actions", problems, input_types)
    guards = _parse_guards(table.get("guards", []), where, problems)
    _check_guard_inputs(guards, inputs, where, problems)
    if not isinstance(event, str) or (to not in states and to != PREVIOUS):
        return None
    return Transition(
        event=event,
        from_states=from_states,
        to=to,
        label=_text(table, "label", where, problems, default=event.replace("_", " ").capitalize()),
        roles=_parse_roles(table.get("roles"), where, problems),
        guards=guards,
        inputs=inputs,
        actions=actions,
        from_any=from_any,
        overridable=_flag(table, "overridable", where, problems, default=True),
        index=index,
    )


def _parse_from(
    raw: object, to: object, where: str, states: dict[str, State], problems: Problems
) -> tuple[tuple[str, ...], bool]:
    if raw == "*":
        # Every open state but the target; into a hold, every running (not paused) state.
        pausing = to in states and states[to].phase == "paused"
        return tuple(
            n
            for n, s in states.items()
            if not s.final and n != to and not (pausing and s.phase == "paused")
        ), True
    names = [raw] if isinstance(raw, str) else raw
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        problems.add(where, "'from' must be a state name, a list of state names, or \"*\"")
        return (), False
    for name in names:
        if name not in states:
            problems.add(where, f"unknown source state '{name}'")
    return tuple(n for n in names if n in states), False


def _parse_roles(raw: object, where: str, problems: Problems) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(r, str) for r in raw):
        problems.add(where, f"'roles' must be a non-empty list of: {', '.join(ROLES)}")
        return ()
    for role in raw:
        if role not in ROLES:
            problems.add(where, f"unknown role '{role}' (known: {', '.join(ROLES)})")
    return tuple(raw)


def _parse_inputs(raw: object, where: str, problems: Problems) -> tuple[InputSpec, ...]:
    specs = []
    for i, table in enumerate(_table_list(raw, f"{where}: inputs", problems)):
        spot = f"{where}: inputs[{i}]"
        if not isinstance(table, dict):
            problems.add(spot, "must be a table")
            continue
        spec = _parse_input(table, spot, problems)
        if spec is not None:
            specs.append(spec)
    names = [s.name for s in specs]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.add(where, f"input '{name}' is declared more than once")
    return tuple(specs)


def _parse_input(table: dict, spot: str, problems: Problems) -> InputSpec | None:
    for key in table.keys() - _INPUT_KEYS:
        problems.add(spot, f"unknown key '{key}'")
    name, kind = table.get("name"), table.get("type")
    if not isinstance(name, str) or not _NAME.match(name):
        problems.add(spot, "'name' missing or not a lowercase identifier")
        return None
    if kind not in INPUT_TYPES:
        problems.add(spot, f"'type' must be one of {', '.join(INPUT_TYPES)}")
        return None
    for problem in validation.input_limit_problems(table, kind):
        problems.add(spot, problem)
    return InputSpec(
        name=name,
        type=kind,
        label=_text(table, "label", spot, problems, default=name.replace("_", " ").capitalize()),
        required=_flag(table, "required", spot, problems, default=True),
        min=table.get("min"),
        max=table.get("max"),
        max_length=table.get("max_length"),
        choices=tuple(table.get("choices", ())),
        help=_text(table, "help", spot, problems, default=""),
    )
