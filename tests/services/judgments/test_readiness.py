"""Readiness: the breakdown, the close guard listing every gap, and constant-query bulk loading."""

from __future__ import annotations

from datetime import date

import pytest

from tests.factories import complete_checklist, make_engagement
from tracker.core import clock
from tracker.errors import GuardFailed
from tracker.extensions import db
from tracker.models import Engagement
from tracker.services.handover import drills, exits
from tracker.services.judgments import readiness
from tracker.services.knowledge import adrs, artifacts, shadows
from tracker.services.workflow import transitions

# The close gate's handover-exit gaps: not knowledge, so readiness does not list them.
EXIT_CODES = {
    "access_not_revoked",
    "access_not_verified",
    "ip_assignment_unconfirmed",
    "data_disposition_unconfirmed",
    "artifacts_not_transferred",
}

RUNBOOK = {"kind": "runbook", "title": "Serving runbook", "url": "https://wiki.example.com/rb"}
SESSION = {"held_on": date(2025, 5, 2), "duration_minutes": 60, "topic": "Walkthrough"}


def _close_guard_unmet(engagement) -> list:
    """What the engine's close transition reports, on the lead's subject builder."""
    engine = transitions.engine_for(engagement)
    subject = transitions.build_subject(engagement, clock.now().date())
    close = engine.transition_for(engagement.state, "close")
    return engine.guard_unmet(close, subject)


def _signed_off_shadow(kt, member, areas):
    data = {"member_id": member.id, "shadow_id": kt.internal.id, "areas": areas}
    assignment = shadows.assign_shadow(kt.manager, kt.engagement.id, data)
    shadows.log_session(kt.internal, assignment.id, SESSION)
    shadows.rate_confidence(kt.internal, assignment.id, 4)
    return shadows.sign_off(kt.manager, assignment.id)


def _passed_drill(kt, assignment, area):
    data = {
        "area": area,
        "task": f"Retrain and deploy {area} alone",
        "performed_by_id": kt.internal.id,
        "performed_on": clock.now().date(),
        "outcome": "passed",
    }
    return drills.record_drill(kt.manager, assignment.id, data)


def test_close_guard_lists_every_gap_and_readiness_agrees(kt):
    adrs.create_adr(kt.provider, kt.engagement.id, {"title": "Use Feast"})
    result = readiness.readiness(kt.engagement)
    unmet = _close_guard_unmet(kt.engagement)
    knowledge = [u for u in unmet if u.code not in EXIT_CODES]
    assert [u.message for u in result.gaps] == [u.message for u in knowledge]
    codes = [u.code for u in unmet]
    assert codes.count("area_without_signed_off_shadow") == 3  # serving, features, pipelines
    assert codes.count("area_without_passed_drill") == 3
    assert codes.count("adr_still_proposed") == 1
    assert codes.count("runbook_missing") == 1
    # bound "Credentials and secrets rotated" too: an empty access register proves nothing
    assert codes.count("kt_item_incomplete") == 5
    assert [c for c in codes if c in EXIT_CODES] == [
        "ip_assignment_unconfirmed",
        "data_disposition_unconfirmed",
        "artifacts_not_transferred",
    ]
    with pytest.raises(GuardFailed) as error:
        transitions.fire(kt.manager, kt.engagement.id, "close", {})
    assert len(error.value.unmet) == len(unmet) == 16
    assert result.score < 100 and not result.is_ready


def test_filling_every_gap_reaches_100_and_close_passes(kt):
    proposed = adrs.create_adr(kt.provider, kt.engagement.id, {"title": "Use Feast"})
    adrs.decide_adr(kt.manager, proposed.id, "accepted")
    mara = _signed_off_shadow(kt, kt.mara, ["serving", "features"])
    tom = _signed_off_shadow(kt, kt.tom, ["pipelines"])
    for assignment, area in ((mara, "serving"), (mara, "features"), (tom, "pipelines")):
        _passed_drill(kt, assignment, area)
    artifacts.add_artifact(kt.provider, kt.engagement.id, RUNBOOK)
    assert readiness.readiness(kt.engagement).score < 100  # the checklist is still open
    complete_checklist(kt.engagement, "knowledge_transfer")
    result = readiness.readiness(kt.engagement)
    assert result.score == 100 and result.is_ready
    assert [(p.name, p.done, p.total) for p in result.parts] == [
        ("kt_checklist", 5, 5),
        ("shadows", 3, 3),
        ("drills", 3, 3),
        ("adrs", 1, 1),
        ("runbooks", 1, 1),
    ]
    # Ready as knowledge, but the exit is not confirmed yet: the close gate says so.
    codes = [u.code for u in _close_guard_unmet(kt.engagement)]
    assert codes == ["ip_assignment_unconfirmed", "data_disposition_unconfirmed"]
    confirmed = {
        "ip_assignment_confirmed_on": clock.now().date(),
        "ip_document_url": "https://docs.example.com/ip-assignment.pdf",
        "data_disposition": "deleted",
        "data_certificate_url": "https://docs.example.com/deletion-certificate.pdf",
        "artifacts_transferred_to": "https://github.com/acme/churn",
    }
    exits.put_exit(kt.manager, kt.engagement.id, confirmed)
    assert _close_guard_unmet(kt.engagement) == []
    closed = transitions.fire(kt.manager, kt.engagement.id, "close", {})
    assert closed.state == "closed" and closed.outcome == "completed"


def test_partial_progress_shows_in_the_breakdown(kt):
    _signed_off_shadow(kt, kt.mara, ["serving"])
    adrs.create_adr(kt.manager, kt.engagement.id, {"title": "A", "status": "accepted"})
    adrs.create_adr(kt.provider, kt.engagement.id, {"title": "B"})
    parts = {p.name: p for p in readiness.readiness(kt.engagement).parts}
    assert (parts["shadows"].done, parts["shadows"].total) == (1, 3)
    assert parts["shadows"].detail == "1 of 3 external areas have a signed-off shadow"
    assert (parts["adrs"].done, parts["adrs"].total) == (1, 2)
    assert parts["adrs"].detail == "1 accepted, 1 still proposed"
    assert parts["runbooks"].detail == "None linked yet"
    assert parts["drills"].detail == "0 of 3 external areas proven by a passed drill"
    score = readiness.readiness(kt.engagement).score
    # weights: KT checklist 30, shadows 30, drills 30, ADRs 20, runbook 20 (the defaults)
    assert score == int(100 * (30 * 0 + 30 * (1 / 3) + 30 * 0 + 20 * (1 / 2) + 20 * 0) / 130)


def test_readiness_many_uses_a_constant_number_of_queries(kt, query_counter):
    others = [make_engagement(kt.manager, provider="Northwind ML") for _ in range(6)]
    _signed_off_shadow(kt, kt.tom, ["pipelines"])
    artifacts.add_artifact(kt.manager, others[0].id, RUNBOOK)
    ids = [kt.engagement.id] + [e.id for e in others]
    db.session.expire_all()
    with query_counter() as small:
        readiness.readiness_many(ids[:2])
    with query_counter() as large:
        result = readiness.readiness_many(ids)
    # eight kinds of facts (drills, access and exit among them) and the definitions
    assert large.count == small.count <= 9
    assert set(result) == set(ids)
    assert result[others[0].id].parts[4].done == 1
    assert result[kt.engagement.id].parts[1].done == 1


def test_readiness_many_of_nothing_is_empty(ctx):
    assert readiness.readiness_many([]) == {}


def test_an_engagement_without_external_areas_or_adrs(ctx):
    engagement = make_engagement()
    complete_checklist(engagement, "knowledge_transfer")
    result = readiness.readiness(db.session.get(Engagement, engagement.id))
    parts = {p.name: p for p in result.parts}
    assert parts["shadows"].detail == "None recorded yet (no external member areas)"
    assert parts["adrs"].detail == "None recorded yet"
    # nothing recorded counts zero: only the completed checklist (30 of 130) scores
    assert result.score == 100 * 30 // 130
    assert [g.code for g in result.gaps] == [
        "readiness_nothing_recorded",
        "readiness_nothing_recorded",
        "readiness_nothing_recorded",
        "runbook_missing",
    ]
    assert [g.message for g in result.gaps][:3] == [
        "Shadows signed off: none recorded yet (no external member areas)",
        "Areas drilled: none recorded yet (no external member areas)",
        "ADRs decided: none recorded yet",
    ]


def test_demo_seed_has_adrs_shadows_and_a_superseded_adr(app, load_demo):
    from tracker.models import Adr, ShadowAssignment

    load_demo()
    with app.app_context():
        statuses = set(db.session.scalars(db.select(Adr.status)))
        assert {"superseded", "accepted", "proposed"} <= statuses
        assignments = db.session.scalars(db.select(ShadowAssignment)).all()
        assert assignments and all(a.sessions for a in assignments)
        closed = db.session.scalar(
            db.select(Engagement).where(Engagement.title == "Recommendations pilot")
        )
        assert readiness.readiness(closed).score == 100
        handover = db.session.scalar(
            db.select(Engagement).where(Engagement.state == "knowledge_transfer")
        )
        assert 0 < readiness.readiness(handover).score < 100


def test_a_leavers_area_handed_to_a_current_member_is_owed_once(kt):
    """Tom left and his replacement holds his area: readiness and the close guard ask for
    the replacement's shadow and drill only, and agree (the demo's Petra Lind)."""
    from datetime import timedelta

    from tests.factories import add_member

    add_member(kt.engagement, "Ola Berg", areas=("pipelines",))
    kt.tom.end_date = clock.now().date() - timedelta(days=1)
    db.session.commit()
    result = readiness.readiness(kt.engagement)
    parts = {p.name: p for p in result.parts}
    assert (parts["shadows"].total, parts["drills"].total) == (3, 3)  # not 4: Tom's is Ola's
    areas = {"area_without_signed_off_shadow", "area_without_passed_drill"}
    guard = [u.message for u in _close_guard_unmet(kt.engagement) if u.code in areas]
    assert [u.message for u in result.gaps if u.code in areas] == guard
    assert len(guard) == 6 and not any("Tom Ruiz" in message for message in guard)
    assert sum(m.startswith("Area 'pipelines' of Ola Berg") for m in guard) == 2
