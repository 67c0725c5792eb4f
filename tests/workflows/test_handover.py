"""Handover judgments over plain facts (workflows/handover.py): drilled areas, the access
register and the exit confirmations, each unmet requirement in words."""

from __future__ import annotations

from datetime import date, timedelta

from workflows.handover import (
    HandoverRules,
    access_all_closed,
    access_register_complete,
    access_revoked_verified,
    areas_drilled,
    exit_confirmed,
    parse_handover,
)
from workflows.problems import Problems
from workflows.subject import AccessFact, DrillFact, ExitFact, MemberFact, Subject

TODAY = date(2026, 6, 30)
ADA = MemberFact(1, "Ada", is_external=True, areas=("serving", "training"))
BEA = MemberFact(2, "Bea", is_external=False, areas=("serving",))


def _subject(**facts) -> Subject:
    return Subject(state="wind_down", today=TODAY, members=(ADA, BEA), **facts)


def _drill(drill_id, area, outcome="passed", days_ago=1, internal=True) -> DrillFact:
    day = TODAY - timedelta(days=days_ago)
    return DrillFact(drill_id, 1, area, outcome, day, performer_is_internal=internal)


def test_every_external_members_area_needs_a_recent_internal_passed_drill():
    drills = (_drill(1, "serving"), _drill(2, "training", outcome="failed"))
    unmet = areas_drilled(_subject(drills=drills), {})
    assert [(u.code, u.ref["area"]) for u in unmet] == [("area_without_passed_drill", "training")]
    assert unmet[0].message == (
        "Area 'training' of Ada has no passed drill by an internal engineer in the last 30 "
        "days; the last one, on 29 Jun 2026, failed"
    )
    assert unmet[0].ref == {"kind": "member", "id": 1, "area": "training", "fix": "knowledge"}


def test_an_old_an_external_or_a_partial_drill_is_no_proof_and_says_why():
    cases = {
        _drill(1, "serving", days_ago=31): "passed but is too old",
        _drill(1, "serving", internal=False): "was not internal",
        _drill(1, "serving", outcome="partly"): "partly passed",
    }
    for drill, words in cases.items():
        unmet = areas_drilled(_subject(drills=(drill, _drill(2, "training"))), {})
        assert len(unmet) == 1 and unmet[0].message.endswith(words), unmet
    never = areas_drilled(_subject(drills=(_drill(2, "training"),)), {})
    assert never[0].message.endswith("; none has been recorded")


def test_the_window_is_a_parameter():
    drills = (_drill(1, "serving", days_ago=45), _drill(2, "training", days_ago=45))
    assert len(areas_drilled(_subject(drills=drills), {})) == 2
    assert areas_drilled(_subject(drills=drills), {"within_days": 60}) == []


def test_access_needs_a_revocation_and_a_second_persons_verification():
    register = (
        AccessFact(1, 1, "Ada", "GitHub", "ada-x"),
        AccessFact(2, 1, "Ada", "AWS", revoked_by="Carl"),
        AccessFact(3, 1, "Ada", "Slack", revoked_by="Carl", verified_by="Dee"),
    )
    unmet = access_revoked_verified(_subject(access=register), {})
    assert [(u.code, u.ref["id"]) for u in unmet] == [
        ("access_not_revoked", 1),
        ("access_not_verified", 2),
    ]
    assert unmet[0].message == "Ada's access to GitHub (ada-x) is not revoked yet"
    assert "revoked by Carl; someone else has not verified it yet" in unmet[1].message
    assert not access_all_closed(_subject(access=register))
    assert access_all_closed(_subject(access=register[2:]))
    assert not access_all_closed(_subject())  # an empty register proves nothing


def test_the_register_is_complete_when_every_external_member_has_an_entry():
    assert not access_register_complete(_subject())
    assert access_register_complete(_subject(access=(AccessFact(1, 1, "Ada", "AWS"),)))
    nobody = Subject(state="wind_down", today=TODAY, members=(BEA,))
    assert not access_register_complete(nobody)  # a team of nobody wrote no register


def test_the_exit_lists_each_missing_confirmation():
    assert [u.code for u in exit_confirmed(_subject(), {})] == [
        "ip_assignment_unconfirmed",
        "data_disposition_unconfirmed",
        "artifacts_not_transferred",
    ]
    half = ExitFact(ip_assignment_confirmed=True, data_disposition="deleted")
    assert [u.code for u in exit_confirmed(_subject(exit=half), {})] == [
        "ip_assignment_unconfirmed",
        "data_disposition_unconfirmed",
        "artifacts_not_transferred",
    ]
    done = ExitFact(True, "https://x/ip", "deleted", "https://x/cert", "client GitLab")
    assert exit_confirmed(_subject(exit=done), {}) == []


def test_the_handover_table_is_parsed_or_refused_with_its_entry():
    problems = Problems("f.toml")
    assert parse_handover(None, problems) == HandoverRules(7)
    assert parse_handover({"drill_follow_up_days": 14}, problems) == HandoverRules(14)
    assert not problems
    assert parse_handover({"drill_follow_up_days": 0}, problems) == HandoverRules()
    assert parse_handover({"drill_follow_up_days": True}, problems) == HandoverRules()
    assert parse_handover({"days": 3}, problems) == HandoverRules()
    assert problems.messages == [
        "f.toml: handover.drill_follow_up_days: must be a whole number from 1 to 90",
        "f.toml: handover.drill_follow_up_days: must be a whole number from 1 to 90",
        "f.toml: handover: must be a table with only 'drill_follow_up_days'",
    ]


def test_a_leavers_area_a_current_member_holds_is_not_owed_twice():
    """Petra left and Ola took her area: Ola's shadow and drill stand for it; an area only
    the leaver held stays owed and says how to clear it; the last day still counts as on."""
    from workflows.guards import shadows_signed_off
    from workflows.subject import ShadowFact, areas_owed

    petra = MemberFact(3, "Petra", True, ("forecast", "notebooks"), TODAY - timedelta(days=1))
    ola = MemberFact(4, "Ola", True, ("forecast",))
    leaving_today = MemberFact(5, "Lea", True, ("serving",), TODAY)
    subject = Subject(state="wind_down", today=TODAY, members=(petra, ola, leaving_today))
    assert [(m.name, a) for m, a in areas_owed(subject)] == [
        ("Petra", "notebooks"),
        ("Ola", "forecast"),
        ("Lea", "serving"),
    ]
    drilled = [(u.ref["id"], u.ref["area"]) for u in areas_drilled(subject, {})]
    shadowed = [(u.ref["id"], u.ref["area"]) for u in shadows_signed_off(subject, {})]
    assert drilled == shadowed == [(3, "notebooks"), (4, "forecast"), (5, "serving")]
    [notebooks] = [u for u in shadows_signed_off(subject, {}) if u.ref["id"] == 3]
    assert notebooks.message == (
        "Area 'notebooks' of Petra has no internal shadow who signed off (they left on "
        f"{petra.end_date.isoformat()} and nobody on the team holds the area now; give it "
        "to a current member)"
    )
    # a sign-off given before she left still counts for her area
    signed = ShadowFact(9, 3, "Ivan", ("notebooks",), signed_off=True)
    later = Subject(state="wind_down", today=TODAY, members=subject.members, shadows=(signed,))
    assert [u.ref["id"] for u in shadows_signed_off(later, {})] == [4, 5]
