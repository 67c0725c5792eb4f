"""The displayed status: one judgment from due date, verdict, the dated claim and evidence."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tracker.models import Milestone, MilestoneStatus
from tracker.services.milestone_status import TargetEvidence, displayed_status

TODAY = date(2026, 12, 6)
SAID = datetime(2026, 12, 3, 15, 30, tzinfo=UTC)
LATENCY_MISSED = TargetEvidence(
    "p95 latency", False, "p95 latency 2,450 ms against a target of ≤ 2,200 ms, measured 3 Dec"
)
F1_MET = TargetEvidence("offline F1", True, "offline F1 0.91 against a target of ≥ 0.88")


def _milestone(status: str, *, due: int, said: datetime | None = SAID, verdict=None) -> Milestone:
    """An unsaved milestone due `due` days from TODAY (negative: in the past)."""
    return Milestone(
        title="Day-30 milestone",
        due_date=TODAY + timedelta(days=due),
        status=status,
        last_update_at=said,
        verdict_at=verdict,
    )


@pytest.mark.parametrize("claimed", ["planned", "on_track", "at_risk", "blocked", "done"])
def test_past_due_without_verdict_reads_overdue_whatever_was_claimed(claimed):
    shown = displayed_status(_milestone(claimed, due=-53), TODAY)
    assert (shown.key, shown.label, shown.tone) == ("overdue", "Overdue — no verdict", "red")
    assert shown.is_overdue
    assert shown.claim == f"Provider said {claimed.replace('_', ' ').capitalize()}, 3 Dec 2026"
    assert shown.reasons == ("Due 14 Oct 2026, 53 days ago, and no verdict yet.",)


def test_the_day_after_the_due_date_is_overdue_and_the_due_date_is_not():
    assert displayed_status(_milestone("on_track", due=-1), TODAY).key == "overdue"
    on_the_day = displayed_status(_milestone("on_track", due=0), TODAY)
    assert (on_the_day.key, on_the_day.label, on_the_day.tone) == ("on_track", "On track", "green")
    assert on_the_day.claim == "Provider said On track, 3 Dec 2026"


@pytest.mark.parametrize(("verdict", "tone"), [("met", "green"), ("missed", "red")])
def test_a_verdict_reads_as_the_verdict_even_long_past_due(verdict, tone):
    given = datetime(2026, 11, 1, 9, tzinfo=UTC)
    shown = displayed_status(_milestone(verdict, due=-60, verdict=given), TODAY)
    assert (shown.key, shown.label, shown.tone) == (verdict, verdict.capitalize(), tone)
    assert not shown.is_overdue and shown.claim is None
    assert shown.reasons == (f"Verdict {verdict} on 1 Nov 2026.",)


def test_done_before_the_due_date_awaits_the_verdict_as_a_claim():
    shown = displayed_status(_milestone("done", due=3), TODAY)
    assert (shown.key, shown.label, shown.tone) == (
        "awaiting_verdict",
        "Done — awaiting verdict",
        "blue",
    )
    assert shown.claim == "Provider said Done, 3 Dec 2026"


def test_nothing_said_yet_is_no_claim_and_an_undated_status_says_so():
    untouched = displayed_status(_milestone("planned", due=10, said=None), TODAY)
    assert (untouched.key, untouched.label, untouched.claim) == ("planned", "Planned", None)
    undated = displayed_status(_milestone("on_track", due=-2, said=None), TODAY)
    assert undated.key == "overdue"
    assert undated.claim == "Provider said On track (no date recorded)"
    assert undated.as_dict()["claim"] == {
        "status": "on_track",
        "on": None,
        "text": "Provider said On track (no date recorded)",
    }


def test_evidence_against_an_optimistic_claim_is_shown_beside_it_before_the_due_date():
    shown = displayed_status(_milestone("on_track", due=5), TODAY, [F1_MET, LATENCY_MISSED])
    assert (shown.key, shown.tone) == ("contradicted", "amber")
    assert shown.label == "On track claimed — target not met"
    assert shown.contradictions == (LATENCY_MISSED.text,)
    assert shown.claim == "Provider said On track, 3 Dec 2026"


def test_evidence_never_turns_an_overdue_milestone_green_and_is_listed_with_it():
    shown = displayed_status(_milestone("on_track", due=-4), TODAY, [LATENCY_MISSED])
    assert (shown.key, shown.tone) == ("overdue", "red")
    assert shown.contradictions == (LATENCY_MISSED.text,)


def test_a_met_verdict_against_the_evidence_keeps_the_verdict_and_shows_the_measurement():
    shown = displayed_status(_milestone("met", due=-1, verdict=SAID), TODAY, [LATENCY_MISSED])
    assert (shown.key, shown.label) == ("met", "Met")
    assert shown.contradictions == (LATENCY_MISSED.text,)


def test_evidence_does_not_contradict_a_pessimistic_claim_or_missing_data():
    no_data = TargetEvidence("p95 latency", None, "p95 latency: no measurement yet")
    at_risk = displayed_status(_milestone("at_risk", due=5), TODAY, [LATENCY_MISSED])
    assert (at_risk.key, at_risk.contradictions) == ("at_risk", ())
    on_track = displayed_status(_milestone("on_track", due=5), TODAY, [no_data, F1_MET])
    assert (on_track.key, on_track.contradictions) == ("on_track", ())


@pytest.mark.parametrize("status", list(MilestoneStatus))
@pytest.mark.parametrize("due", [-30, -1, 0, 1, 30])
def test_no_open_milestone_past_its_due_date_is_ever_shown_green(status, due):
    shown = displayed_status(_milestone(status, due=due), TODAY, [LATENCY_MISSED])
    is_final = status in ("met", "missed")
    if due < 0 and not is_final:
        assert shown.tone == "red" and shown.key == "overdue"
    assert shown.is_overdue == (due < 0 and not is_final)
    assert shown.tone != "green" or status == "met" or shown.key == "on_track"
    if shown.key == "on_track":  # green only for an on-track claim not yet due, not contradicted
        assert due >= 0 and not shown.contradictions
