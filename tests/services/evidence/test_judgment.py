"""The one judgment: a target's status from its latest eligible point, and the suggestion."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.services.evidence.judgment import (
    MET,
    NO_DATA,
    NOT_MET,
    Point,
    against_evidence,
    judge_target,
    latest_by,
    meets,
    period_summary,
    suggest_verdict,
)

DUE = date(2026, 12, 1)


def _at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _target(direction="lower", target=2000.0, points=(), due=DUE, metric_id=1):
    return judge_target(
        metric_id=metric_id,
        name=f"metric {metric_id}",
        unit="ms",
        direction=direction,
        target=target,
        latest=latest_by(points, due),
    )


def test_the_latest_point_on_or_before_the_due_day_counts_and_later_ones_do_not():
    points = [
        Point(_at(DUE - timedelta(days=3)), 2300.0),
        Point(_at(DUE, hour=23), 1990.0),  # the due day itself still counts
        Point(_at(DUE + timedelta(days=1)), 2500.0),  # after the due day: not this milestone's
    ]
    judged = _target(points=points)
    assert (judged.latest, judged.status) == (1990.0, MET)


def test_no_point_by_the_due_day_is_no_data():
    late = [Point(_at(DUE + timedelta(days=2)), 1500.0)]
    assert _target(points=late).status == NO_DATA


def test_direction_decides_which_side_meets():
    assert meets("higher", 0.9, 0.9) and not meets("higher", 0.89, 0.9)
    assert meets("lower", 2000, 2000) and not meets("lower", 2001, 2000)


def test_suggestion_met_missed_undecided_with_reasons():
    met = _target(points=[Point(_at(DUE), 1900.0)])
    short = _target(points=[Point(_at(DUE), 2300.0)], metric_id=2)
    assert suggest_verdict([met], DUE, DUE).verdict == "met"
    before = suggest_verdict([met, short], DUE, DUE)
    assert (
        before.verdict == "undecided"
        and "metric 2: 2,300 ms against ≤ 2,000 ms" in before.reasons[0]
    )
    after = suggest_verdict([met, short], DUE, DUE + timedelta(days=1))
    assert after.verdict == "missed" and after.reasons[0].startswith("Not met by the due date")
    empty = suggest_verdict([], DUE, DUE + timedelta(days=9))
    assert empty.verdict == "undecided" and "by hand" in empty.reasons[0]
    nothing = suggest_verdict([_target()], DUE, DUE + timedelta(days=1))
    assert nothing.verdict == "missed" and "no measurement" in nothing.reasons[0]


def test_against_evidence_is_met_over_a_miss_or_missed_over_all_met():
    met = _target(points=[Point(_at(DUE), 1900.0)])
    short = _target(points=[Point(_at(DUE), 2300.0)], metric_id=2)
    assert against_evidence("met", [met, short]).startswith("met while metric 2")
    assert against_evidence("met", [met]) is None
    assert against_evidence("missed", [met]) == "missed while every target is met"
    assert against_evidence("missed", [met, short]) is None
    assert against_evidence("missed", []) is None and against_evidence("met", [_target()]) is None


_values = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
_series = st.lists(st.tuples(st.integers(min_value=-40, max_value=40), _values), max_size=12)
_targets = st.lists(
    st.tuples(st.sampled_from(["higher", "lower"]), _values, _series), min_size=1, max_size=4
)


@settings(max_examples=300, deadline=None)
@given(_targets, st.integers(min_value=-30, max_value=30))
def test_the_suggestion_never_says_met_while_a_targets_latest_value_misses_it(spec, offset):
    today = DUE + timedelta(days=offset)
    judged = []
    for index, (direction, goal, series) in enumerate(spec):
        points = [Point(_at(DUE + timedelta(days=d)), v) for d, v in series]
        judged.append(_target(direction, goal, points, metric_id=index))
        latest = latest_by(points, DUE)
        if latest is not None:  # the status is exactly what the latest eligible value says
            expected = MET if meets(direction, latest.value, goal) else NOT_MET
            assert judged[-1].status == expected
    suggestion = suggest_verdict(judged, DUE, today)
    misses = [
        t for t in judged if t.latest is not None and not meets(t.direction, t.latest, t.target)
    ]
    if misses or any(t.latest is None for t in judged):
        assert suggestion.verdict != "met"
    if suggestion.verdict == "missed":
        assert today > DUE
    if all(t.status == MET for t in judged):
        assert suggestion.verdict == "met"


def _met_target(metric_id=1):
    return _target(points=[Point(_at(DUE - timedelta(days=1)), 1500.0)], metric_id=metric_id)


def test_every_target_met_with_a_missed_milestone_is_a_red_summary_naming_it():
    """The demo's Vision QA: "targets met 9/9" beside a red "Day-60 milestone was missed"."""
    targets = [_met_target(i) for i in range(3)]
    milestones = [("met", DUE - timedelta(days=30)), ("missed", DUE)]
    summary = period_summary(targets, milestones, DUE + timedelta(days=5))
    assert (summary.met, summary.targets) == (3, 3)
    assert summary.shortfalls == ("1 milestone missed",)
    assert summary.level == "red"


def test_a_milestone_past_due_without_a_verdict_is_an_amber_shortfall():
    targets = [_met_target(1), _target(points=[Point(_at(DUE), 2500.0)], metric_id=2)]
    milestones = [("on_track", DUE), ("done", DUE), ("planned", DUE + timedelta(days=30))]
    summary = period_summary(targets, milestones, DUE + timedelta(days=1))
    assert (summary.met, summary.targets, summary.level) == (1, 2, "amber")
    assert summary.shortfalls == ("2 overdue without a verdict",)
    on_the_day = period_summary(targets, milestones, DUE)  # due today is not overdue yet
    assert (on_the_day.shortfalls, on_the_day.level) == ((), "open")


def test_only_a_period_with_nothing_missed_or_overdue_reads_as_met():
    targets = [_met_target(1), _met_target(2)]
    assert period_summary(targets, [("met", DUE)], DUE).level == "met"
    both = period_summary(targets, [("missed", DUE), ("at_risk", DUE)], DUE + timedelta(days=1))
    assert both.shortfalls == ("1 milestone missed", "1 overdue without a verdict")
    assert both.level == "red"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["planned", "on_track", "at_risk", "blocked", "done", "met", "missed"]),
            st.integers(-20, 20),
        ),
        max_size=6,
    ),
    st.integers(0, 4),
)
def test_a_summary_reads_as_met_only_without_a_shortfall(facts, met_count):
    targets = [_met_target(i) for i in range(met_count)]
    targets += [_target(points=[Point(_at(DUE), 2500.0)], metric_id=9)]
    milestones = [(status, DUE + timedelta(days=days)) for status, days in facts]
    summary = period_summary(targets, milestones, DUE)
    shortfall = any(
        status == "missed" or (status not in ("met", "missed") and days < 0)
        for status, days in facts
    )
    assert bool(summary.shortfalls) is shortfall
    assert (summary.level in ("met", "open")) is not shortfall
