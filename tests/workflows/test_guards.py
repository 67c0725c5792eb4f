"""The guard registry (workflows/guards.py): each guard called directly on a Subject, every
unmet requirement named in words with what to fix (tests/workflows/test_engine.py checks
them through transitions)."""

from __future__ import annotations

from datetime import date

import pytest

from workflows.guards import (
    GUARDS,
    artifact_present,
    checklist_complete,
    date_set,
    early_review_needs_reason,
    milestone_with_criteria,
    milestone_with_targets,
    no_proposed_adrs,
    period_milestones_final,
    shadows_signed_off,
    short_date,
    team_min,
)
from workflows.params import validate_params
from workflows.subject import (
    AdrFact,
    ArtifactFact,
    ChecklistFact,
    MemberFact,
    MilestoneFact,
    ShadowFact,
    Subject,
)

TODAY = date(2026, 3, 2)


def _subject(**facts) -> Subject:
    return Subject(state="trial", today=TODAY, **facts)


def test_short_dates_name_the_year_only_when_it_is_not_this_one():
    assert short_date(date(2026, 3, 9), TODAY) == "9 Mar"
    assert short_date(date(2027, 1, 5), TODAY) == "5 Jan 2027"
    assert short_date(date(2026, 3, 9)) == "9 Mar 2026"


def test_checklist_complete_lists_each_open_item_of_its_kind_with_owner_and_due_date():
    items = (
        ChecklistFact(1, "prerequisite", "Laptop", "open", "Ada", date(2026, 3, 9)),
        ChecklistFact(2, "prerequisite", "VPN", "done"),
        ChecklistFact(3, "prerequisite", "Badge", "not_applicable"),
        ChecklistFact(4, "placement", "Desk", "open"),
        ChecklistFact(5, "prerequisite", "Repo access", "open"),
    )
    unmet = checklist_complete(_subject(checklist=items), {"kind": "prerequisite"})
    assert [(u.code, u.message, u.ref) for u in unmet] == [
        (
            "prerequisite_incomplete",
            "Prerequisite 'Laptop' is not done (owner: Ada, due 9 Mar)",
            {"kind": "checklist", "id": 1},
        ),
        (
            "prerequisite_incomplete",
            "Prerequisite 'Repo access' is not done (no owner)",
            {"kind": "checklist", "id": 5},
        ),
    ]
    placement = checklist_complete(_subject(checklist=items), {"kind": "placement"})
    assert [(u.code, u.ref["id"]) for u in placement] == [("placement_incomplete", 4)]


def test_team_min_tells_an_empty_team_from_a_small_one():
    one = (MemberFact(1, "Ada", True),)
    assert team_min(_subject(members=one), {"count": 1}) == []
    assert [u.message for u in team_min(_subject(), {"count": 1})] == [
        "The team has no members yet; add at least 1 member"
    ]
    assert [(u.code, u.message) for u in team_min(_subject(members=one), {"count": 3})] == [
        ("team_too_small", "The team has 1 member; it needs at least 3 members")
    ]


def test_milestones_need_criteria_and_targets_by_count():
    vague = MilestoneFact(1, "Day 30", date(2026, 4, 1), "not_started")
    clear = MilestoneFact(2, "Day 60", date(2026, 5, 1), "not_started", "F1 >= 0.9", 0, (7,))
    assert milestone_with_criteria(_subject(milestones=(vague, clear)), {"min": 1}) == []
    unmet = milestone_with_criteria(_subject(milestones=(vague, clear)), {"min": 2})
    assert [(u.message, u.ref) for u in unmet] == [
        (
            "Milestone 'Day 30' (due 1 Apr) has no measurable success criteria",
            {"kind": "milestone", "id": 1},
        )
    ]
    none = milestone_with_criteria(_subject(), {"min": 1})
    assert none[0].message == "No milestone has success criteria yet; add at least 1 with criteria"
    assert milestone_with_targets(_subject(milestones=(vague, clear)), {"min": 1}) == []
    assert milestone_with_targets(_subject(milestones=(vague,)), {"min": 2})[0].message == (
        "No milestone has a numeric target yet; set a target for a success metric on at "
        "least 2 milestones"
    )


def test_only_the_current_periods_milestones_need_a_verdict():
    milestones = (
        MilestoneFact(1, "Old", date(2026, 1, 1), "on_track", period=0),
        MilestoneFact(2, "Now", date(2026, 3, 20), "at_risk", period=1),
        MilestoneFact(3, "Done", date(2026, 3, 1), "met", period=1),
    )
    unmet = period_milestones_final(_subject(milestones=milestones, current_period=1), {})
    assert [(u.code, u.message) for u in unmet] == [
        ("milestone_not_final", "Milestone 'Now' (due 20 Mar) is 'at risk'; mark it met or missed")
    ]


def test_every_external_area_needs_a_signed_off_shadow():
    members = (MemberFact(1, "Ada", True, ("serving", "training")), MemberFact(2, "Bo", False))
    shadows = (
        ShadowFact(1, 1, "Cy", ("serving",), signed_off=True),
        ShadowFact(2, 1, "Di", ("training",)),
    )
    unmet = shadows_signed_off(_subject(members=members, shadows=shadows), {})
    assert [(u.message, u.ref) for u in unmet] == [
        (
            "Area 'training' of Ada is shadowed by Di, who has not signed off yet",
            {"kind": "member", "id": 1, "area": "training"},
        )
    ]
    alone = shadows_signed_off(_subject(members=members), {})
    assert alone[0].message == "Area 'serving' of Ada has no internal shadow who signed off"


def test_proposed_adrs_and_missing_artifacts_and_dates_are_named():
    adrs = (AdrFact(1, 3, "Use Triton", "proposed"), AdrFact(2, 4, "Keep Redis", "accepted"))
    assert [u.message for u in no_proposed_adrs(_subject(adrs=adrs), {})] == [
        "ADR 3 'Use Triton' is still proposed; accept or reject it"
    ]
    runbook = (ArtifactFact(1, "runbook", "On call"),)
    assert artifact_present(_subject(artifacts=runbook), {"kind": "runbook"}) == []
    missing = artifact_present(_subject(artifacts=runbook), {"kind": "architecture_overview"})
    assert [(u.code, u.message) for u in missing] == [
        (
            "architecture_overview_missing",
            "No architecture overview has been added yet; add one under knowledge retention",
        )
    ]
    assert [u.message for u in date_set(_subject(), {"date": "trial_end"})] == [
        "The trial end date is not set"
    ]
    dated = _subject(dates={"trial_end": date(2026, 4, 1)})
    assert date_set(dated, {"date": "trial_end"}) == []


@pytest.mark.parametrize(
    ("role", "inputs", "end", "unmet"),
    [
        ("manager", {}, date(2026, 3, 30), True),  # 28 days early, no reason
        ("manager", {"reason": "  "}, date(2026, 3, 30), True),
        ("manager", {"reason": "client asked"}, date(2026, 3, 30), False),
        ("manager", {}, date(2026, 3, 12), False),  # within the last 14 days
        ("system", {}, date(2026, 3, 30), False),  # the scheduler's timer
        ("manager", None, date(2026, 3, 30), False),  # only listing the options
    ],
)
def test_an_early_review_needs_a_reason_unless_late_or_the_scheduler(role, inputs, end, unmet):
    subject = Subject(
        state="period",
        today=TODAY,
        dates={"period_end": end},
        actor_role=role,
        inputs=inputs,
    )
    found = early_review_needs_reason(subject, {"end": "period_end", "within_days": 14})
    assert bool(found) is unmet
    if unmet:
        assert found[0].message == (
            "The period ends on 30 Mar, in 28 days; beginning the review before its last 14 "
            "days needs a written reason"
        )


def test_every_registered_guard_documents_itself_and_its_defaults_are_valid():
    assert len(GUARDS) >= 13
    for name, guard in GUARDS.items():
        assert guard.name == name and guard.description, name
        defaults = {key: spec.default for key, spec in guard.params.items() if spec.default}
        assert validate_params(guard.params, defaults) == [
            f"missing parameter '{key}'" for key, spec in guard.params.items() if spec.required
        ], name
    assert GUARDS["early_review_needs_reason"].inputs == ("reason",)
