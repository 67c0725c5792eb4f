"""Readiness: the breakdown, the close guard listing every gap, and constant-query bulk loading."""

from __future__ import annotations

from datetime import date

import pytest

from tests.factories import complete_checklist, make_engagement
from tracker.core import clock
from tracker.errors import GuardFailed
from tracker.extensions import db
from tracker.models import Engagement
from tracker.services import adrs, artifacts, readiness, shadows, transitions

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


def test_close_guard_lists_every_gap_and_readiness_agrees(kt):
    adrs.create_adr(kt.provider, kt.engagement.id, {"title": "Use Feast"})
    result = readiness.readiness(kt.engagement)
    unmet = _close_guard_unmet(kt.engagement)
    assert [u.message for u in result.gaps] == [u.message for u in unmet]
    codes = [u.code for u in unmet]
    assert codes.count("area_without_signed_off_shadow") == 3  # serving, features, pipelines
    assert codes.count("adr_still_proposed") == 1
    assert codes.count("runbook_missing") == 1
    assert codes.count("kt_item_incomplete") == 5
    with pytest.raises(GuardFailed) as error:
        transitions.fire(kt.manager, kt.engagement.id, "close", {})
    assert len(error.value.unmet) == len(unmet) == 10
    assert result.score < 100 and not result.is_ready


def test_filling_every_gap_reaches_100_and_close_passes(kt):
    proposed = adrs.create_adr(kt.provider, kt.engagement.id, {"title": "Use Feast"})
    adrs.decide_adr(kt.manager, proposed.id, "accepted")
    _signed_off_shadow(kt, kt.mara, ["serving", "features"])
    _signed_off_shadow(kt, kt.tom, ["pipelines"])
    artifacts.add_artifact(kt.provider, kt.engagement.id, RUNBOOK)
    assert readiness.readiness(kt.engagement).score < 100  # the checklist is still open
    complete_checklist(kt.engagement, "knowledge_transfer")
    result = readiness.readiness(kt.engagement)
    assert result.score == 100 and result.is_ready
    assert [(p.name, p.done, p.total) for p in result.parts] == [
        ("kt_checklist", 5, 5),
        ("shadows", 3, 3),
        ("adrs", 1, 1),
        ("runbooks", 1, 1),
    ]
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
    score = readiness.readiness(kt.engagement).score
    # weights: KT checklist 30, shadows 30, ADRs 20, runbook 20 (the default [readiness])
    assert score == int(30 * 0 + 30 * (1 / 3) + 20 * (1 / 2) + 20 * 0)


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
    assert large.count == small.count <= 6  # five kinds of facts and the definitions
    assert set(result) == set(ids)
    assert result[others[0].id].parts[3].done == 1
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
    # nothing recorded counts zero: only the completed checklist (weight 30) scores
    assert result.score == 30
    assert [g.code for g in result.gaps] == [
        "readiness_nothing_recorded",
        "readiness_nothing_recorded",
        "runbook_missing",
    ]
    assert [g.message for g in result.gaps][:2] == [
        "Shadows signed off: none recorded yet (no external member areas)",
        "ADRs decided: none recorded yet",
    ]


def test_demo_seed_has_adrs_shadows_and_a_superseded_adr(app):
    from tracker.demo import seed as demo
    from tracker.models import Adr, ShadowAssignment

    with app.app_context():
        assert demo.seed_demo() is True
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
