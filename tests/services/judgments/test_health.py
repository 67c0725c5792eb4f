"""The health rules, one at a time, and the property that nothing overdue is ever Green.

`compute_health` is pure once it is given the state and the thresholds, so these
tests build engagements as plain data and ask it directly; the service tests in
test_milestones_checklists_health.py check the cached columns end to end.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from tests.factories import make_engagement
from tracker.extensions import db
from tracker.services.judgments import health as health_module
from tracker.services.judgments.health import (
    ChecklistDueFact,
    HealthFacts,
    MilestoneFact,
    compute_health,
)
from workflows import DEFINITIONS_DIR, load_definition
from workflows.meaning import HealthRules

DEFINITION = load_definition(DEFINITIONS_DIR / "staff_augmentation.toml")
TODAY = date(2026, 6, 15)
RULES = DEFINITION.health


def _phase(phase: str):
    """The first state of the shipped definition in this phase."""
    return DEFINITION.states[DEFINITION.states_in_phase(phase)[0]]


PERIOD = _phase("period")  # the trial: bounded by trial_start / trial_end


def _engagement(start=TODAY - timedelta(days=40), days=90, current_period=0):
    end = start + timedelta(days=days)
    return SimpleNamespace(
        current_period=current_period,
        trial_start=start,
        trial_end=end,
        period_start=start,
        period_end=end,
    )


def _milestone(days_due=10, status="on_track", period=0, updated_days_ago=1, mid=1, title="M1"):
    updated = datetime.combine(TODAY - timedelta(days=updated_days_ago), datetime.min.time(), UTC)
    return MilestoneFact(mid, title, status, period, TODAY + timedelta(days=days_due), updated)


def _judge(milestones=(), items=(), state=PERIOD, engagement=None, rules=RULES):
    facts = HealthFacts(tuple(milestones), tuple(items))
    return compute_health(engagement or _engagement(), facts, TODAY, state=state, rules=rules)


def _codes(reasons) -> list[tuple[str, str]]:
    return [(r["code"], r["level"]) for r in reasons]


def test_on_track_milestones_in_a_running_trial_are_green():
    assert _judge([_milestone()]) == ("green", [])


def test_an_overdue_on_track_milestone_is_amber_and_names_the_item():
    health, reasons = _judge([_milestone(days_due=-2, title="Feature pipeline in staging")])
    assert health == "amber"
    assert reasons == [
        {
            "code": "milestone_overdue",
            "level": "amber",
            "message": "Milestone 'Feature pipeline in staging' was due 13 Jun (2 days ago) "
            "and has no verdict",
            "anchor": "milestone-1",
        }
    ]


def test_a_milestone_more_than_the_threshold_late_is_red():
    assert _codes(_judge([_milestone(days_due=-14)])[1]) == [("milestone_overdue", "amber")]
    assert _codes(_judge([_milestone(days_due=-15)])[1]) == [("milestone_overdue", "red")]


def test_the_threshold_comes_from_the_definition():
    strict = HealthRules(overdue_red_after=timedelta(days=3))
    assert _judge([_milestone(days_due=-4)], rules=strict)[0] == "red"


def test_an_overdue_milestone_whose_period_has_ended_is_red():
    review = _phase("review")
    health, reasons = _judge([_milestone(days_due=-3)], state=review)
    assert (health, _codes(reasons)) == ("red", [("milestone_overdue", "red")])


def test_done_awaiting_a_verdict_past_its_date_still_counts_as_overdue():
    health, reasons = _judge([_milestone(days_due=-1, status="done")])
    assert health == "amber" and "awaits a verdict" in reasons[0]["message"]


def test_blocked_is_red_at_risk_is_amber_and_a_missed_verdict_is_red():
    assert _codes(_judge([_milestone(status="blocked")])[1]) == [("milestone_blocked", "red")]
    assert _codes(_judge([_milestone(status="at_risk")])[1]) == [("milestone_at_risk", "amber")]
    health, reasons = _judge([_milestone(status="missed"), _milestone(mid=2)])
    assert (health, _codes(reasons)) == ("red", [("milestone_missed", "red")])


def test_a_missed_verdict_of_an_earlier_period_no_longer_counts():
    extension = _engagement(current_period=1)
    old = _milestone(status="missed", period=0, days_due=-100)
    assert _judge([old, _milestone(period=1, mid=2)], engagement=extension) == ("green", [])


def test_no_provider_update_for_longer_than_the_threshold_is_amber():
    quiet = _milestone(updated_days_ago=15)
    assert _codes(_judge([quiet])[1]) == [("milestone_stale", "amber")]
    assert _judge([_milestone(updated_days_ago=14)])[0] == "green"


def test_the_days_on_hold_do_not_count_towards_staleness():
    quiet = _milestone(updated_days_ago=30)  # the last update came before a 21-day hold
    resumed = _engagement()
    resumed.resumed_at = datetime.combine(TODAY - timedelta(days=9), datetime.min.time(), UTC)
    assert _judge([quiet], engagement=resumed)[0] == "green"
    resumed.resumed_at -= timedelta(days=6)  # 15 quiet days since the resume
    assert _codes(_judge([quiet], engagement=resumed)[1]) == [("milestone_stale", "amber")]


def test_staleness_does_not_accrue_outside_a_running_period():
    quiet = _milestone(updated_days_ago=40)
    assert _judge([quiet], state=_phase("setup")) == ("green", [])


@pytest.mark.parametrize(("days_late", "level"), [(1, "amber"), (14, "amber"), (15, "red")])
def test_an_overdue_checklist_item_is_amber_then_red(days_late, level):
    item = ChecklistDueFact(7, "Named internal technical contact", "prerequisite", TODAY)
    late = ChecklistDueFact(7, item.title, item.kind, TODAY - timedelta(days=days_late))
    assert _judge([_milestone()], [item])[0] == "green"  # due today is not late
    health, reasons = _judge([_milestone()], [late])
    assert (health, _codes(reasons)) == (level, [("checklist_overdue", level)])
    assert reasons[0]["anchor"] == "checklist-7" and item.title in reasons[0]["message"]


def test_a_period_ending_within_a_week_with_open_milestones_is_amber():
    ending = _engagement(start=TODAY - timedelta(days=85))
    health, reasons = _judge([_milestone(days_due=3)], engagement=ending)
    assert (health, _codes(reasons)) == ("amber", [("period_ending", "amber")])
    assert reasons[0]["message"] == "Trial ends in 5 days with 1 milestone without a verdict"
    judged = _milestone(days_due=-1, status="met")
    assert _judge([judged], engagement=ending) == ("green", [])


def test_a_period_that_has_ended_without_a_review_is_amber():
    over = _engagement(start=TODAY - timedelta(days=95))
    health, reasons = _judge([_milestone(days_due=-10, status="met")], engagement=over)
    assert (health, _codes(reasons)) == ("amber", [("period_over", "amber")])


def test_a_running_period_without_milestones_is_amber():
    assert _codes(_judge([])[1]) == [("period_without_milestones", "amber")]


def test_a_final_state_has_no_reasons():
    closed = DEFINITION.states[DEFINITION.final_states[0]]
    assert _judge([_milestone(days_due=-30)], state=closed) == ("green", [])


# -- the property: whatever the data, an overdue item is never shown as Green ------------------

STATUSES = ("planned", "on_track", "at_risk", "blocked", "done", "met", "missed")
LIVE_STATES = [s for s in DEFINITION.states.values() if not s.final and s.phase != "paused"]
HOLD = next(s for s in DEFINITION.states.values() if s.phase == "paused")

milestones = st.lists(
    st.builds(
        MilestoneFact,
        id=st.integers(1, 10_000),
        title=st.text(min_size=1, max_size=20),
        status=st.sampled_from(STATUSES),
        period=st.integers(0, 2),
        due_date=st.dates(TODAY - timedelta(days=200), TODAY + timedelta(days=200)),
        last_update_at=st.none()
        | st.datetimes(datetime(2025, 1, 1), datetime(2026, 12, 1), timezones=st.just(UTC)),
    ),
    max_size=8,
)
items = st.lists(
    st.builds(
        ChecklistDueFact,
        id=st.integers(1, 10_000),
        title=st.text(min_size=1, max_size=20),
        kind=st.sampled_from(("prerequisite", "placement", "knowledge_transfer")),
        due_date=st.dates(TODAY - timedelta(days=60), TODAY + timedelta(days=60)),
    ),
    max_size=6,
)


@settings(max_examples=400, deadline=None)
@given(
    milestones=milestones,
    items=items,
    state=st.sampled_from(LIVE_STATES),
    start=st.dates(TODAY - timedelta(days=400), TODAY + timedelta(days=30)),
    days=st.integers(1, 365),
    current_period=st.integers(0, 2),
)
def test_nothing_overdue_is_ever_green(milestones, items, state, start, days, current_period):
    engagement = _engagement(start=start, days=days, current_period=current_period)
    health, reasons = _judge(milestones, items, state=state, engagement=engagement)
    overdue = [
        f"milestone-{m.id}"
        for m in milestones
        if m.due_date < TODAY and m.status not in ("met", "missed")
    ] + [f"checklist-{i.id}" for i in items if i.due_date < TODAY]
    if overdue:
        assert health != "green"
    anchors = {r.get("anchor") for r in reasons}
    assert set(overdue) <= anchors  # every overdue item is named, not only the first
    rank = {"green": 0, "amber": 1, "red": 2}
    assert rank[health] == max((rank[r["level"]] for r in reasons), default=0)


@settings(max_examples=200, deadline=None)
@given(milestones=milestones, items=items, start=st.dates(TODAY - timedelta(days=400), TODAY))
def test_on_hold_the_clock_never_turns_anything_red(milestones, items, start):
    engagement = _engagement(start=start)
    engagement.paused_at = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    engagement.pause_reason = "Budget freeze"
    health, reasons = _judge(milestones, items, state=HOLD, engagement=engagement)
    assert reasons[0]["code"] == "paused" and reasons[0]["level"] == "amber"
    assert reasons[0]["message"] == "On hold since 1 Mar, reason: Budget freeze"
    # Only what people said counts beside the hold: no overdue, stale or period reasons.
    said = {"milestone_blocked", "milestone_at_risk", "milestone_missed"}
    assert {r["code"] for r in reasons[1:]} <= said
    said_red = any(
        m.status == "blocked" or (m.status == "missed" and m.period == 0) for m in milestones
    )
    assert health == ("red" if said_red else "amber")


def test_health_inputs_are_every_table_health_reads(ctx):
    """HEALTH_INPUTS says which written rows re-judge an engagement at commit (derived.py):
    every table health reads must be one of them, or an edit to it would leave health stale."""
    engagement = make_engagement()
    tables = {table.name for table in db.metadata.sorted_tables}
    read: set[str] = set()

    def seen(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            read.update(t for t in tables if re.search(rf'\b(FROM|JOIN)\s+"?{t}"?\b', statement))

    engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        health_module.refresh_health([engagement.id])
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    db.session.rollback()
    inputs = {model.__table__.name for model in health_module.HEALTH_INPUTS}
    assert {"milestone", "checklist_item", "access_entry", "change_request"} <= read
    assert read <= inputs, read - inputs


SAID = ("milestone_blocked", "milestone_at_risk", "milestone_missed")


@settings(max_examples=100, deadline=None)
@given(milestones=milestones)
def test_on_hold_and_running_name_what_people_said_in_the_same_words(milestones):
    """A blocked, at-risk or missed milestone reads the same whether the clock runs or not."""
    engagement = _engagement()
    _, running = _judge(milestones, engagement=engagement)
    _, held = _judge(milestones, state=HOLD, engagement=engagement)
    said_running = [r for r in running if r["code"] in SAID]
    assert [r for r in held if r["code"] in SAID] == said_running
    assert len(said_running) == sum(
        m.status in ("blocked", "at_risk") or (m.status == "missed" and m.period == 0)
        for m in milestones
    )


def test_what_people_said_is_judged_in_one_place():
    """The held path and the running path share one rule for the said reasons, so a change
    to its words or levels cannot reach one path and miss the other."""
    from tracker.services.judgments import health_milestones

    source = Path(health_milestones.__file__).read_text(encoding="utf-8")
    assert {code: source.count(f'"{code}"') for code in SAID} == dict.fromkeys(SAID, 1)
