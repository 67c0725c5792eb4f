"""What states and the [health]/[readiness] tables mean (workflows/meaning.py): parsed with
defaults filled in, or refused with the entry named."""

from __future__ import annotations

from datetime import timedelta

from workflows.meaning import (
    DEFAULT_WEIGHTS,
    HealthRules,
    ReadinessRules,
    parse_health,
    parse_readiness,
    parse_state_meaning,
)
from workflows.problems import Problems


def _state(table, *, initial=False, final=False):
    problems = Problems("f.toml")
    meaning = parse_state_meaning(table, "states.x", problems, initial=initial, final=final)
    return meaning, problems.messages


def test_a_state_without_a_phase_gets_one_from_its_place():
    assert _state({}, initial=True) == (("setup", ("period_start", "period_end"), "slate"), [])
    assert _state({}) == (("active", ("period_start", "period_end"), "blue"), [])
    assert _state({}, final=True) == (("final", ("period_start", "period_end"), "grey"), [])


def test_a_period_state_names_its_two_dates_and_a_tone():
    table = {"phase": "period", "period": ["trial_start", "trial_end"], "tone": "violet"}
    assert _state(table) == (("period", ("trial_start", "trial_end"), "violet"), [])


def test_bad_phases_tones_and_periods_are_named_and_fall_back_to_defaults():
    meaning, messages = _state({"phase": "asleep", "tone": "pink"})
    assert meaning == ("active", ("period_start", "period_end"), "blue")
    assert messages == [
        "f.toml: states.x: 'phase' must be one of setup, period, review, wind_down, active, "
        "paused, final",
        "f.toml: states.x: 'tone' must be one of slate, blue, violet, amber, teal, green, grey",
    ]
    assert _state({"phase": "review"}, final=True)[1] == [
        "f.toml: states.x: a final state has phase 'final'"
    ]
    assert _state({"phase": "final"})[1] == [
        "f.toml: states.x: phase 'final' is only for final states (final = true)"
    ]
    assert _state({"period": ["trial_start", "trial_end"]})[1] == [
        "f.toml: states.x: 'period' only applies to states with phase 'period'"
    ]
    meaning, messages = _state({"phase": "period", "period": ["trial_start", "tomorrow"]})
    assert meaning[1] == ("period_start", "period_end")
    assert messages[0].startswith("f.toml: states.x: 'period' must be two dates, start and end")


def test_health_thresholds_are_durations_and_unknown_keys_are_named():
    problems = Problems("f.toml")
    assert parse_health(None, problems) == HealthRules()
    rules = parse_health({"overdue_red_after": "3w", "stale_after": "5d"}, problems)
    assert not problems
    assert rules.overdue_red_after == timedelta(days=21) and rules.stale_after == timedelta(5)
    assert rules.checklist_red_after == HealthRules().checklist_red_after  # the default
    rules = parse_health({"stale_after": "soon", "amber_after": "1d"}, problems)
    assert rules == HealthRules()
    assert problems.messages[0] == (
        "f.toml: health.stale_after: bad duration 'soon': expected e.g. '7d' or '2w'"
    )
    assert problems.messages[1].startswith("f.toml: health: unknown key 'amber_after' (known:")
    parse_health(["14d"], problems)
    assert problems.messages[-1] == "f.toml: health: must be a table"


def test_readiness_weights_and_parts_that_do_not_apply():
    problems = Problems("f.toml")
    assert parse_readiness(None, problems) == ReadinessRules()
    rules = parse_readiness({"weights": {"drills": 50}, "not_applicable": ["adrs"]}, problems)
    assert not problems
    assert dict(rules.weights) == {**DEFAULT_WEIGHTS, "drills": 50}
    assert rules.not_applicable == ("adrs",)


def test_bad_readiness_tables_are_refused_entry_by_entry():
    problems = Problems("f.toml")
    rules = parse_readiness(
        {"weights": {"vibes": 5, "drills": -1, "adrs": True}, "not_applicable": ["vibes"]},
        problems,
    )
    assert dict(rules.weights) == dict(DEFAULT_WEIGHTS) and rules.not_applicable == ()
    assert problems.messages == [
        "f.toml: readiness.weights: unknown part 'vibes' (kt_checklist, shadows, drills, adrs, "
        "runbooks)",
        "f.toml: readiness.weights.drills: must be a whole number, 0 or more",
        "f.toml: readiness.weights.adrs: must be a whole number, 0 or more",
        "f.toml: readiness.not_applicable: must list parts from kt_checklist, shadows, drills, "
        "adrs, runbooks",
    ]
    problems = Problems("f.toml")
    parse_readiness({"weights": dict.fromkeys(DEFAULT_WEIGHTS, 0)}, problems)
    assert problems.messages == [
        "f.toml: readiness: at least one applicable part needs a weight above 0"
    ]
    problems = Problems("f.toml")
    parse_readiness({"weights": {}, "extra": 1}, problems)
    assert problems.messages == [
        "f.toml: readiness: must be a table with only 'weights' and 'not_applicable'"
    ]
