"""Health from the evidence: a target short near its due date, missed with no verdict, stale."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

from tracker.services.evidence.judgment import Point, judge_target, latest_by
from tracker.services.judgments.health import HealthFacts, MilestoneFact, compute_health
from workflows import DEFINITIONS_DIR, load_definition

DEFINITION = load_definition(DEFINITIONS_DIR / "staff_augmentation.toml")
TODAY = date(2026, 6, 15)
TRIAL = DEFINITION.states[DEFINITION.states_in_phase("period")[0]]


def _engagement():
    start = TODAY - timedelta(days=40)
    end = start + timedelta(days=90)
    return SimpleNamespace(
        current_period=0, trial_start=start, trial_end=end, period_start=start, period_end=end
    )


def _milestone(days_due, status="on_track"):
    updated = datetime.combine(TODAY, datetime.min.time(), UTC)
    return MilestoneFact(1, "Day-60", status, 0, TODAY + timedelta(days=days_due), updated)


def _target(value, measured_days_ago=1, kind="latency", due=None):
    when = datetime.combine(TODAY - timedelta(days=measured_days_ago), datetime.min.time(), UTC)
    points = [] if value is None else [Point(when, value)]
    return judge_target(
        metric_id=7,
        name="p95 latency",
        unit="ms",
        direction="lower",
        target=2000.0,
        latest=latest_by(points, due or TODAY + timedelta(days=400)),
        kind=kind,
    )


def _judge(milestone, target):
    facts = HealthFacts((milestone,), (), {milestone.id: (target,)})
    return compute_health(_engagement(), facts, TODAY, state=TRIAL, rules=DEFINITION.health)


def _codes(reasons):
    return [(r["code"], r["level"]) for r in reasons]


def test_a_target_short_within_the_warning_window_is_amber_naming_metric_latest_and_target():
    health, reasons = _judge(_milestone(days_due=10), _target(2300))
    assert health == "amber" and _codes(reasons) == [("target_at_risk", "amber")]
    assert reasons[0]["message"] == (
        "'p95 latency' is not met: 2,300 ms against ≤ 2,000 ms with 10 days to 'Day-60'"
    )
    assert reasons[0]["anchor"] == "metric-7"


def test_outside_the_window_or_met_is_green():
    assert _judge(_milestone(days_due=20), _target(2300))[0] == "green"
    assert _judge(_milestone(days_due=5), _target(1900))[0] == "green"


def test_past_due_not_met_without_a_verdict_is_red_and_a_verdict_settles_it():
    health, reasons = _judge(_milestone(days_due=-3), _target(2300))
    assert health == "red" and ("target_missed", "red") in _codes(reasons)
    settled = _codes(_judge(_milestone(days_due=-3, status="missed"), _target(2300))[1])
    assert not any(code.startswith("target_") for code, _ in settled)


def test_no_measurement_for_longer_than_the_stale_window_is_a_stale_reason():
    health, reasons = _judge(_milestone(days_due=30), _target(1900, measured_days_ago=20))
    assert health == "amber" and _codes(reasons) == [("measurement_stale", "amber")]
    assert "No measurement of 'p95 latency' since" in reasons[0]["message"]


def test_cost_targets_are_named_without_their_figures():
    _, reasons = _judge(_milestone(days_due=10), _target(2300, kind="cost"))
    assert "2,300" not in reasons[0]["message"] and "short of its target" in reasons[0]["message"]
