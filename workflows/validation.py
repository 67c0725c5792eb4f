"""Load-time checks across a definition: initial/final states, reachability, timers, inputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .actions import ACTIONS
from .params import validate_params
from .problems import Problems

if TYPE_CHECKING:
    from .definition import State, Transition


def where(transition: Transition) -> str:
    """The entry label used in messages, e.g. "transitions[3] (extend)"."""
    return f"transitions[{transition.index}] ({transition.event})"


def check(states: dict[str, State], transitions: list[Transition], problems: Problems) -> None:
    """Add every structural problem of the state graph to `problems`."""
    if not states:
        return
    initial = _check_initial(states, problems)
    _check_finals(states, transitions, problems)
    if initial is not None:
        _check_reachable(initial, states, transitions, problems)
    _check_duplicates(states, transitions, problems)
    _check_timers(states, transitions, problems)
    _check_on_enter(states, transitions, problems)
    _check_holds(states, transitions, problems)


def _check_initial(states: dict[str, State], problems: Problems) -> str | None:
    initial = [s.name for s in states.values() if s.initial]
    if not initial:
        problems.add("states", "no initial state: mark exactly one with initial = true")
    elif len(initial) > 1:
        problems.add("states", f"several initial states ({', '.join(initial)}): keep exactly one")
    for name in initial:
        if states[name].final:
            problems.add(f"states.{name}", "a state cannot be both initial and final")
    return initial[0] if len(initial) == 1 else None


def _check_finals(states: dict[str, State], transitions: list[Transition], problems) -> None:
    if not any(s.final for s in states.values()):
        problems.add("states", "no final state: mark at least one with final = true")
    for state in states.values():
        leaving = [where(t) for t in transitions if state.name in t.from_states]
        if state.final and leaving:
            problems.add(f"states.{state.name}", f"final state has a way out: {', '.join(leaving)}")
        elif not state.final and not leaving:
            problems.add(f"states.{state.name}", "non-final state has no way out")


def _closure(start: set[str], edges: list[tuple[str, str]]) -> set[str]:
    seen, frontier = set(start), list(start)
    while frontier:
        node = frontier.pop()
        for source, target in edges:
            if source == node and target not in seen:
                seen.add(target)
                frontier.append(target)
    return seen


def _returns_to(transition: Transition, transitions: list[Transition]) -> set[str]:
    """Where a transition may lead: a history transition, to every state its (paused)
    source can be entered from."""
    if not transition.history:
        return {transition.to}
    sources = set(transition.from_states)
    return {s for t in transitions if t.to in sources for s in t.from_states}


def _check_reachable(initial: str, states, transitions: list[Transition], problems) -> None:
    edges = [
        (s, target)
        for t in transitions
        for s in t.from_states
        for target in _returns_to(t, transitions)
    ]
    reachable = _closure({initial}, edges)
    finals = {n for n, s in states.items() if s.final}
    can_finish = _closure(finals, [(b, a) for a, b in edges])
    for name, state in states.items():
        if name not in reachable:
            problems.add(f"states.{name}", f"unreachable from the initial state '{initial}'")
        elif finals and not state.final and name not in can_finish:
            problems.add(f"states.{name}", "no path from this state to a final state")


def _check_duplicates(states, transitions: list[Transition], problems: Problems) -> None:
    first: dict[tuple[str, str], Transition] = {}
    for transition in transitions:
        for state in transition.from_states:
            key = (state, transition.event)
            if key in first:
                problems.add(
                    where(transition),
                    f"duplicate event '{transition.event}' from state '{state}' "
                    f"(already defined by {where(first[key])})",
                )
            else:
                first[key] = transition


def _check_holds(states: dict[str, State], transitions: list[Transition], problems) -> None:
    """A history transition leaves a paused state; a hold is entered from running states
    only (so there is always a state to return to) and has a history transition out."""
    paused = {n for n, s in states.items() if s.phase == "paused"}
    for transition in transitions:
        if transition.history and not set(transition.from_states) <= paused:
            others = ", ".join(sorted(set(transition.from_states) - paused))
            problems.add(
                where(transition),
                f'a history transition (to = "$previous") must leave a paused state, not {others}',
            )
        elif not transition.history and transition.to in paused:
            inside = sorted(set(transition.from_states) & paused)
            if inside:
                problems.add(
                    where(transition),
                    f"a hold is entered from running states, not from paused '{inside[0]}'",
                )
    for name in sorted(paused):
        if not any(t.history and name in t.from_states for t in transitions):
            problems.add(
                f"states.{name}",
                'a paused state needs a history transition out (to = "$previous")',
            )


def _keys(transition: Transition) -> set[tuple[str, str]]:
    return {(state, transition.event) for state in transition.from_states}


def _check_timers(states: dict[str, State], transitions: list[Transition], problems) -> None:
    for state in states.values():
        for i, timer in enumerate(state.timers):
            spot = f"states.{state.name}.timers[{i}]"
            match = [t for t in transitions if (state.name, timer.event) in _keys(t)]
            if not match:
                message = f"event '{timer.event}' is not a transition out of '{state.name}'"
                problems.add(spot, message)
            elif "system" not in match[0].roles:
                problems.add(
                    spot,
                    f"event '{timer.event}' cannot be fired by the scheduler: "
                    f'add "system" to the roles of {where(match[0])}',
                )


def _common_inputs(name: str, transitions: list[Transition]) -> dict[str, str]:
    """Inputs (name -> type) declared by every transition entering state `name`."""
    incoming = [t for t in transitions if t.to == name]
    if not incoming:
        return {}
    common = {i.name: i.type for i in incoming[0].inputs}
    for transition in incoming[1:]:
        types = {i.name: i.type for i in transition.inputs}
        common = {k: v for k, v in common.items() if types.get(k) == v}
    return common


def _check_on_enter(states: dict[str, State], transitions: list[Transition], problems) -> None:
    for state in states.values():
        inputs = _common_inputs(state.name, transitions)
        for i, call in enumerate(state.on_enter):
            raw = {k: v for k, v in call.params.items()}
            for error in validate_params(ACTIONS[call.name].params, raw, inputs):
                problems.add(f"states.{state.name}.on_enter[{i}]", f"action '{call.name}': {error}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def input_limit_problems(table: Mapping, kind: str) -> list[str]:
    """Problems with an input's min/max/max_length/choices for its type."""
    found = []
    for key, allowed in (("min", "int"), ("max", "int"), ("max_length", "text")):
        if key in table and (kind != allowed or not _is_int(table[key])):
            found.append(f"'{key}' must be an integer and only applies to {allowed} inputs")
    if _is_int(table.get("min")) and _is_int(table.get("max")) and table["min"] > table["max"]:
        found.append("'min' is greater than 'max'")
    if _is_int(table.get("max_length")) and table["max_length"] < 1:
        found.append("'max_length' must be at least 1")
    choices = table.get("choices")
    if kind == "choice" and not (
        isinstance(choices, list) and choices and all(isinstance(c, str) for c in choices)
    ):
        found.append("choice inputs need a non-empty list of string 'choices'")
    elif kind != "choice" and choices is not None:
        found.append("'choices' only applies to choice inputs")
    return found
