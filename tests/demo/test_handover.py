"""The demo's handover: under way in knowledge transfer, proven in full on the closed engagement."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from tracker.core import clock
from tracker.extensions import db
from tracker.models import AccessEntry, ChecklistItem, Drill, Engagement
from tracker.services.workflow import lifecycle, transitions


def _engagement(title: str) -> Engagement:
    return db.session.scalar(select(Engagement).where(Engagement.title == title))


def test_the_closed_demo_engagement_passes_the_new_close_gate(app, load_demo):
    load_demo()
    with app.app_context():
        closed = _engagement("Recommendations pilot")
        definition = lifecycle.definition_of(closed)
        close = next(t for t in definition.transitions if t.event == "close")
        engine = transitions.engine_for(closed)
        subject = transitions.build_subject(closed, clock.now().date())
        # judged as if it were still in the state the close leaves from
        wind_down = definition.states_in_phase("wind_down")[0]
        assert engine.guard_unmet(close, replace(subject, state=wind_down)) == []
        entries = db.session.scalars(
            select(AccessEntry).where(AccessEntry.engagement_id == closed.id)
        ).all()
        assert entries and all(e.verified_by_id not in (None, e.revoked_by_id) for e in entries)


def test_the_handover_demo_has_two_passed_drills_a_failed_one_and_half_its_access_revoked(
    app, load_demo
):
    load_demo()
    with app.app_context():
        handover = _engagement("Churn model handover")
        drills = db.session.scalars(select(Drill).where(Drill.engagement_id == handover.id)).all()
        assert sorted(d.outcome for d in drills) == ["failed", "passed", "passed"]
        failed = next(d for d in drills if d.outcome == "failed")
        item = db.session.get(ChecklistItem, failed.follow_up_item_id)
        assert item.kind == "knowledge_transfer" and item.status == "open"
        assert item.owner_id == failed.shadow.shadow_id
        entries = db.session.scalars(
            select(AccessEntry).where(AccessEntry.engagement_id == handover.id)
        ).all()
        revoked = [e for e in entries if e.revoked_at is not None]
        assert len(revoked) * 2 == len(entries) and len(entries) >= 2
        assert any(e.verified_at is None for e in revoked)  # one revocation awaits a second person
