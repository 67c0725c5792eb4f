"""Load-time checks across a definition's state graph (workflows/validation.py), on graphs
built directly (tests/workflows/test_loader.py checks the same through TOML files)."""

from __future__ import annotations

from datetime import timedelta

from workflows.definition import PREVIOUS, State, TimerSpec, Transition
from workflows.expressions import Offset
from workflows.problems import Problems
from workflows.validation import check, input_limit_problems, where


def _states(*states: State) -> dict[str, State]:
    return {state.name: state for state in states}


def _go(event, sources, to, index=0, roles=("manager",)) -> Transition:
    return Transition(event, tuple(sources), to, event, roles, index=index)


def _check(states, transitions) -> list[str]:
    problems = Problems("g.toml")
    check(states, transitions, problems)
    return problems.messages


START = State("start", "S", initial=True)
MIDDLE = State("middle", "M")
END = State("end", "E", final=True)


def test_a_sound_graph_has_no_problems():
    transitions = [_go("a", ["start"], "middle"), _go("b", ["middle"], "end", 1)]
    assert _check(_states(START, MIDDLE, END), transitions) == []
    assert _check({}, []) == []  # nothing to check (the loader reports the missing table)


def test_initial_and_final_states_are_required_once_and_apart():
    assert _check(_states(MIDDLE), []) == [
        "g.toml: states: no initial state: mark exactly one with initial = true",
        "g.toml: states: no final state: mark at least one with final = true",
        "g.toml: states.middle: non-final state has no way out",
    ]
    both = State("both", "B", initial=True, final=True)
    other = State("other", "O", initial=True)
    messages = _check(_states(both, other, END), [_go("a", ["other"], "end")])
    assert messages[:2] == [
        "g.toml: states: several initial states (both, other): keep exactly one",
        "g.toml: states.both: a state cannot be both initial and final",
    ]


def test_a_final_state_with_a_way_out_is_named_with_the_transition():
    transitions = [_go("a", ["start"], "end"), _go("reopen", ["end"], "start", 1)]
    assert _check(_states(START, END), transitions) == [
        "g.toml: states.end: final state has a way out: transitions[1] (reopen)"
    ]


def test_unreachable_states_and_dead_ends_are_named():
    loop = State("loop", "L")
    island = State("island", "I")
    transitions = [
        _go("a", ["start"], "end"),
        _go("b", ["start"], "loop", 1),
        _go("c", ["loop"], "loop", 2),
        _go("d", ["island"], "end", 3),
    ]
    assert _check(_states(START, loop, island, END), transitions) == [
        "g.toml: states.loop: no path from this state to a final state",
        "g.toml: states.island: unreachable from the initial state 'start'",
    ]


def test_an_event_leaves_a_state_once():
    transitions = [_go("a", ["start"], "end"), _go("a", ["start"], "end", 1)]
    assert _check(_states(START, END), transitions) == [
        "g.toml: transitions[1] (a): duplicate event 'a' from state 'start' "
        "(already defined by transitions[0] (a))"
    ]
    assert where(transitions[1]) == "transitions[1] (a)"


def test_a_timer_fires_an_event_the_scheduler_may_fire_out_of_its_state():
    timers = (
        TimerSpec("expire", "trial_end", Offset("trial_end", timedelta(0))),
        TimerSpec("nothing", "trial_end", Offset("trial_end", timedelta(0))),
    )
    timed = State("start", "S", initial=True, timers=timers)
    assert _check(_states(timed, END), [_go("expire", ["start"], "end")]) == [
        "g.toml: states.start.timers[0]: event 'expire' cannot be fired by the scheduler: "
        'add "system" to the roles of transitions[0] (expire)',
        "g.toml: states.start.timers[1]: event 'nothing' is not a transition out of 'start'",
    ]
    fine = [_go("expire", ["start"], "end", roles=("manager", "system"))]
    assert _check(_states(State("start", "S", initial=True, timers=timers[:1]), END), fine) == []


def test_a_hold_is_entered_from_running_states_and_left_by_a_history_transition():
    held = State("held", "H", phase="paused")
    good = [
        _go("go", ["start"], "end"),
        _go("hold", ["start"], "held", 1),
        _go("resume", ["held"], PREVIOUS, 2),
    ]
    assert _check(_states(START, held, END), good) == []
    bad = [
        _go("go", ["start"], "end"),
        _go("hold", ["start", "held"], "held", 1),
        _go("back", ["start"], PREVIOUS, 2),
        _go("out", ["held"], "end", 3),
    ]
    assert _check(_states(START, held, END), bad) == [
        "g.toml: transitions[1] (hold): a hold is entered from running states, not from "
        "paused 'held'",
        'g.toml: transitions[2] (back): a history transition (to = "$previous") must leave a '
        "paused state, not start",
        'g.toml: states.held: a paused state needs a history transition out (to = "$previous")',
    ]


def test_input_limits_fit_the_inputs_type():
    assert input_limit_problems({"min": 1, "max": 12}, "int") == []
    assert input_limit_problems({"max_length": 200}, "text") == []
    assert input_limit_problems({"choices": ["a", "b"]}, "choice") == []
    assert input_limit_problems({"min": 5, "max": 2, "max_length": 0}, "int") == [
        "'max_length' must be an integer and only applies to text inputs",
        "'min' is greater than 'max'",
        "'max_length' must be at least 1",
    ]
    assert input_limit_problems({"min": 1.5}, "int") == [
        "'min' must be an integer and only applies to int inputs"
    ]
    assert input_limit_problems({"choices": []}, "choice") == [
        "choice inputs need a non-empty list of string 'choices'"
    ]
    assert input_limit_problems({"choices": ["a"]}, "text") == [
        "'choices' only applies to choice inputs"
    ]
