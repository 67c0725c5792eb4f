"""Engine options and plans: roles, guards reporting every unmet requirement, inputs, override."""

from __future__ import annotations

from datetime import date

import pytest

from tests.workflows.workflow_facts import TODAY, actor, blocked_subject, ready_subject
from workflows import (
    ChecklistFact,
    DrillFact,
    InvalidInputs,
    MemberFact,
    MilestoneFact,
    PlannedAction,
    PlannedTimer,
    ShadowFact,
    TransitionNotAllowed,
    UnknownEvent,
)

ROLE = ("role_not_allowed",)
START_BLOCKED = (
    "prerequisite_incomplete",
    "placement_incomplete",
    "team_empty",
    "milestone_without_targets",
)
CLOSE_BLOCKED = (
    "kt_item_incomplete",
    "area_without_signed_off_shadow",
    "area_without_passed_drill",
    "adr_still_proposed",
    "runbook_missing",
    "access_not_revoked",
    "ip_assignment_unconfirmed",
    "data_disposition_unconfirmed",
    "artifacts_not_transferred",
)

# state, event, role, subject is ready?, expected unmet codes (empty = allowed)
TABLE = [
    ("discovery", "start_trial", "manager", True, ()),
    ("discovery", "start_trial", "admin", True, ()),
    ("discovery", "start_trial", "provider", True, ROLE),
    ("discovery", "start_trial", "stakeholder", True, ROLE),
    ("discovery", "start_trial", "system", True, ROLE),
    ("discovery", "start_trial", "manager", False, START_BLOCKED),
    ("discovery", "start_trial", "provider", False, ROLE + START_BLOCKED),
    ("discovery", "cancel", "manager", False, ()),
    ("discovery", "cancel", "provider", True, ROLE),
    ("discovery", "terminate", "admin", False, ()),
    ("trial", "begin_review", "system", False, ()),
    ("trial", "begin_review", "manager", True, ()),
    ("trial", "begin_review", "provider", True, ROLE),
    ("trial", "terminate", "manager", False, ()),
    ("trial", "terminate", "system", True, ROLE),
    ("milestone_review", "extend", "manager", True, ()),
    ("milestone_review", "extend", "manager", False, ("milestone_not_final",)),
    ("milestone_review", "extend", "system", True, ROLE),
    ("milestone_review", "begin_knowledge_transfer", "admin", False, ("milestone_not_final",)),
    ("extension", "begin_review", "system", True, ()),
    ("extension", "begin_knowledge_transfer", "manager", False, ()),
    ("knowledge_transfer", "close", "manager", True, ()),
    ("knowledge_transfer", "close", "manager", False, CLOSE_BLOCKED),
    ("knowledge_transfer", "close", "stakeholder", False, ROLE + CLOSE_BLOCKED),
    ("knowledge_transfer", "terminate", "provider", True, ROLE),
]


@pytest.mark.parametrize(("state", "event", "role", "ready", "codes"), TABLE)
def test_transition_table(engine, state, event, role, ready, codes):
    subject = ready_subject(state) if ready else blocked_subject(state)
    options = {o.event: o for o in engine.options(subject, actor(role))}
    option = options[event]
    assert tuple(u.code for u in option.unmet) == codes
    assert option.allowed is (codes == ())


def test_options_list_every_transition_out_of_the_state(engine):
    options = engine.options(ready_subject("milestone_review"), actor("manager"))
    assert [(o.event, o.to_state) for o in options] == [
        ("extend", "extension"),
        ("begin_knowledge_transfer", "knowledge_transfer"),
        ("terminate", "closed"),
        ("put_on_hold", "on_hold"),
    ]
    assert [i.name for i in options[0].inputs] == ["months", "review"]


def test_only_admins_see_guard_failures_as_overridable(engine):
    subject = blocked_subject("knowledge_transfer")
    close = {r: engine.options(subject, actor(r))[0] for r in ("admin", "manager")}
    assert close["admin"].overridable and not close["manager"].overridable
    assert not engine.options(ready_subject("knowledge_transfer"), actor("admin"))[0].overridable


def test_three_open_prerequisites_give_three_sentences(engine):
    items = (
        ChecklistFact(
            12,
            "prerequisite",
            "Data access and infrastructure",
            "open",
            "Dana Lee",
            date(2025, 3, 3),
        ),
        ChecklistFact(13, "prerequisite", "Named technical contact", "open", None, None),
        ChecklistFact(
            14, "prerequisite", "Clear problem statement", "open", "Ravi", date(2026, 1, 9)
        ),
        ChecklistFact(15, "prerequisite", "Success criteria", "not_applicable", None, None),
        ChecklistFact(16, "placement", "IP assignment", "done", None, None),
    )
    with pytest.raises(TransitionNotAllowed) as caught:
        engine.plan(ready_subject("discovery", checklist=items), actor("manager"), "start_trial")
    assert [(u.message, u.ref) for u in caught.value.unmet] == [
        (
            "Prerequisite 'Data access and infrastructure' is not done "
            "(owner: Dana Lee, due 3 Mar)",
            {"kind": "checklist", "id": 12},
        ),
        (
            "Prerequisite 'Named technical contact' is not done (no owner)",
            {"kind": "checklist", "id": 13},
        ),
        (
            "Prerequisite 'Clear problem statement' is not done (owner: Ravi, due 9 Jan 2026)",
            {"kind": "checklist", "id": 14},
        ),
    ]


def test_every_uncovered_area_is_reported_with_member_and_area(engine):
    subject = ready_subject(
        "knowledge_transfer",
        members=(
            MemberFact(5, "Ana Ruiz", True, ("serving", "feature pipeline")),
            MemberFact(6, "Li Wei", True, ("evaluation",)),
            MemberFact(7, "Internal Ian", False, ("serving",)),
        ),
        shadows=(
            ShadowFact(1, 5, "Bo Chen", ("feature pipeline",), True),
            ShadowFact(2, 6, "Cy Park", ("evaluation",), False),
        ),
        # every area drilled, so only the shadows are missing
        drills=tuple(
            DrillFact(i, member, area, "passed", TODAY)
            for i, (member, area) in enumerate(
                ((5, "serving"), (5, "feature pipeline"), (6, "evaluation")), 1
            )
        ),
    )
    with pytest.raises(TransitionNotAllowed) as caught:
        engine.plan(subject, actor("manager"), "close")
    assert [(u.code, u.message, u.ref) for u in caught.value.unmet] == [
        (
            "area_without_signed_off_shadow",
            "Area 'serving' of Ana Ruiz has no internal shadow who signed off",
            {"kind": "member", "id": 5, "area": "serving"},
        ),
        (
            "area_without_signed_off_shadow",
            "Area 'evaluation' of Li Wei is shadowed by Cy Park, who has not signed off yet",
            {"kind": "member", "id": 6, "area": "evaluation"},
        ),
    ]


def test_period_milestones_final_only_looks_at_the_current_period(engine):
    milestones = (
        MilestoneFact(1, "Trial goal", date(2025, 3, 1), "blocked", "x", 0),
        MilestoneFact(2, "Extension goal", date(2025, 9, 1), "on_track", "y", 1),
        MilestoneFact(3, "Extension done", date(2025, 9, 1), "missed", "z", 1),
    )
    subject = ready_subject("milestone_review", milestones=milestones, current_period=1)
    option = engine.options(subject, actor("manager"))[0]
    assert [(u.ref["id"], u.message) for u in option.unmet] == [
        (2, "Milestone 'Extension goal' (due 1 Sep) is 'on track'; mark it met or missed")
    ]


def test_extend_plan_substitutes_inputs_and_schedules_the_review(engine):
    plan = engine.plan(
        ready_subject("milestone_review"),
        actor("manager"),
        "extend",
        {"months": 6, "review": "  All three met.  "},
    )
    assert (plan.from_state, plan.to_state, plan.is_final) == (
        "milestone_review",
        "extension",
        False,
    )
    assert plan.cleaned_inputs == {"months": 6, "review": "All three met."}
    assert plan.actions == (
        PlannedAction("record_review", {"text": "All three met."}),
        PlannedAction("start_extension", {"months": 6}),
        PlannedAction(
            "create_milestones",
            {
                "offsets": [30, 60, 90],
                "anchor": "period_start",
                "period": "current",
                "targets": "none",
            },
        ),
    )
    assert plan.timers == (PlannedTimer("begin_review", "period_end"),)


def test_start_trial_plan_sets_the_window_and_the_day_90_timer(engine):
    plan = engine.plan(ready_subject("discovery"), actor("manager"), "start_trial")
    assert [a.name for a in plan.actions] == ["set_trial_window", "create_milestones"]
    assert plan.actions[0].params == {"days": 90}
    assert plan.timers == (PlannedTimer("begin_review", "trial_end"),)


def test_close_plan_is_final_with_outcome(engine):
    plan = engine.plan(ready_subject("knowledge_transfer"), actor("admin"), "close")
    assert plan.is_final and plan.actions == (
        PlannedAction("set_outcome", {"outcome": "completed"}),
    )


def test_unknown_event_names_the_state_and_the_events_that_exist(engine):
    with pytest.raises(UnknownEvent) as caught:
        engine.plan(ready_subject("trial"), actor("manager"), "extend", {"months": 6})
    assert str(caught.value) == (
        "Event 'extend' is not defined from state 'trial'; "
        "available events: begin_review, terminate, put_on_hold"
    )


@pytest.mark.parametrize(
    ("inputs", "errors"),
    [
        ({"months": 2, "review": "ok"}, {"months": ["Must be at least 3."]}),
        ({"months": 13, "review": "ok"}, {"months": ["Must be at most 12."]}),
        ({"months": "6", "review": "ok"}, {"months": ["Enter a whole number."]}),
        ({"months": True, "review": "ok"}, {"months": ["Enter a whole number."]}),
        ({"months": 6.0, "review": "ok"}, {"months": ["Enter a whole number."]}),
        ({"months": 6, "review": "   "}, {"review": ["This field is required."]}),
        ({}, {"months": ["This field is required."], "review": ["This field is required."]}),
        (
            {"months": 6, "review": "x" * 10001},
            {"review": ["Must be at most 10000 characters (got 10001)."]},
        ),
        ({"months": 6, "review": 5}, {"review": ["Enter text."]}),
        (
            {"months": 6, "review": "ok", "colour": "red"},
            {"colour": ["This transition takes no such input."]},
        ),
    ],
)
def test_extend_inputs_are_validated(engine, inputs, errors):
    with pytest.raises(InvalidInputs) as caught:
        engine.plan(ready_subject("milestone_review"), actor("manager"), "extend", inputs)
    assert caught.value.errors == errors


@pytest.mark.parametrize("months", [3, 12])
def test_extend_accepts_the_bounds(engine, months):
    plan = engine.plan(
        ready_subject("milestone_review"),
        actor("manager"),
        "extend",
        {"months": months, "review": "r"},
    )
    assert plan.actions[1].params == {"months": months}


def test_admin_override_carries_the_overridden_requirements(engine):
    plan = engine.plan(
        blocked_subject("knowledge_transfer"),
        actor("admin"),
        "close",
        override_reason="  Client asked to close; shadows signed off on paper  ",
    )
    assert tuple(u.code for u in plan.overridden) == CLOSE_BLOCKED
    assert plan.override_reason == "Client asked to close; shadows signed off on paper"
    assert plan.to_state == "closed"


def test_manager_cannot_override(engine):
    with pytest.raises(TransitionNotAllowed) as caught:
        engine.plan(
            blocked_subject("knowledge_transfer"),
            actor("manager"),
            "close",
            override_reason="please",
        )
    assert caught.value.codes == ("override_not_allowed",)


def test_override_needs_a_written_reason(engine):
    with pytest.raises(InvalidInputs) as caught:
        engine.plan(
            blocked_subject("knowledge_transfer"), actor("admin"), "close", override_reason="   "
        )
    assert list(caught.value.errors) == ["override_reason"]


def test_override_never_skips_input_checks(engine):
    with pytest.raises(InvalidInputs):
        engine.plan(
            blocked_subject("milestone_review"),
            actor("admin"),
            "extend",
            {"months": 1},
            override_reason="urgent",
        )


def test_override_never_skips_role_checks(tmp_path):
    from tests.workflows.workflow_facts import MINIMAL
    from workflows import Engine, load_definition

    path = tmp_path / "mini.toml"
    path.write_text(
        MINIMAL.replace('roles = ["manager"]', 'roles = ["manager"]\nguards = ["no_proposed_adrs"]')
    )
    engine = Engine(load_definition(path))
    with pytest.raises(TransitionNotAllowed) as caught:
        engine.plan(blocked_subject("a"), actor("admin"), "go", override_reason="because")
    assert caught.value.codes == ("role_not_allowed",)


def test_without_override_blocked_admin_is_refused_with_every_code(engine):
    with pytest.raises(TransitionNotAllowed) as caught:
        engine.plan(blocked_subject("discovery"), actor("admin"), "start_trial")
    assert caught.value.codes == START_BLOCKED


def test_override_reason_is_dropped_when_nothing_was_overridden(engine):
    plan = engine.plan(
        ready_subject("discovery"), actor("admin"), "start_trial", override_reason="x"
    )
    assert plan.overridden == () and plan.override_reason is None


def test_cancel_records_the_reason_and_outcome(engine):
    plan = engine.plan(
        ready_subject("discovery"), actor("manager"), "cancel", {"reason": "No budget"}
    )
    assert plan.actions == (
        PlannedAction("record_reason", {"text": "No budget"}),
        PlannedAction("set_outcome", {"outcome": "cancelled"}),
    )


def test_terminate_requires_a_reason(engine):
    with pytest.raises(InvalidInputs) as caught:
        engine.plan(ready_subject("extension"), actor("manager"), "terminate", {"reason": ""})
    assert caught.value.errors == {"reason": ["This field is required."]}


def test_team_too_small_when_fewer_than_count(tmp_path):
    from workflows.guards import team_min

    unmet = team_min(ready_subject("a"), {"count": 2})
    assert [(u.code, u.message) for u in unmet] == [
        ("team_too_small", "The team has 1 member; it needs at least 2 members")
    ]


def _subject_at(engine, state, today, period_end):
    from types import MappingProxyType

    from workflows import Subject
    from workflows.subject import DATE_KEYS

    dates = dict.fromkeys(DATE_KEYS)
    dates["period_end"] = period_end
    return Subject(state=state, today=today, dates=MappingProxyType(dates))


def test_early_review_needs_a_reason_unless_in_the_last_days_or_the_system(engine):
    from datetime import date

    from workflows import Actor, TransitionNotAllowed

    manager = Actor(1, "manager", "Dana")
    early = _subject_at(engine, "trial", date(2026, 12, 2), date(2027, 3, 2))
    options = {o.event: o for o in engine.options(early, manager)}
    assert options["begin_review"].allowed  # judged when fired: the reason is an input
    with pytest.raises(TransitionNotAllowed) as caught:
        engine.plan(early, manager, "begin_review", {})
    assert [u.code for u in caught.value.unmet] == ["early_review_without_reason"]
    assert caught.value.unmet[0].ref == {"kind": "input", "name": "reason"}
    assert engine.plan(early, manager, "begin_review", {"reason": "Sponsor leaves"})
    assert engine.plan(early, Actor(None, "system", "scheduler"), "begin_review", {})
    late = _subject_at(engine, "trial", date(2027, 2, 16), date(2027, 3, 2))  # 14 days left
    assert engine.plan(late, manager, "begin_review", {})


def test_resume_returns_to_the_state_the_hold_began_in(engine):
    held = ready_subject("on_hold", paused_from="extension")
    options = {o.event: o for o in engine.options(held, actor("manager"))}
    assert options["resume"].to_state == "extension" and options["resume"].allowed
    plan = engine.plan(held, actor("manager"), "resume", {"shift_dates": "no"})
    assert (plan.to_state, plan.resumes, plan.pauses) == ("extension", True, False)
    # No on_enter actions again (no second milestone plan), but its timers are set again.
    assert plan.actions == ()
    assert plan.timers == (PlannedTimer("begin_review", "period_end"),)


def test_put_on_hold_needs_a_reason_and_takes_an_expected_resume_date(engine):
    with pytest.raises(InvalidInputs) as caught:
        engine.plan(ready_subject("trial"), actor("manager"), "put_on_hold", {})
    assert "reason" in caught.value.errors
    plan = engine.plan(
        ready_subject("trial"),
        actor("manager"),
        "put_on_hold",
        {"reason": "Budget freeze", "expected_resume": date(2026, 4, 1)},
    )
    assert (plan.to_state, plan.pauses, plan.timers) == ("on_hold", True, ())


def test_a_hold_without_a_recorded_state_cannot_resume(engine):
    held = ready_subject("on_hold")  # paused_from unknown
    assert "resume" not in {o.event for o in engine.options(held, actor("manager"))}
    with pytest.raises(TransitionNotAllowed) as caught:
        engine.plan(held, actor("manager"), "resume", {})
    assert caught.value.unmet[0].code == "no_state_to_return_to"
    with pytest.raises(TransitionNotAllowed):
        engine.plan(ready_subject("on_hold", paused_from="closed"), actor("manager"), "resume")
