"""The engagement page's read model: each fact read once, judged on the rows it shows.

`engagement_view` must hand the guards, the readiness and the exit's open items exactly
the facts the per-purpose reads give (`build_subject`, `readiness`, `open_items`), for
engagements in every state of the scale generator (shadows, drills, access, exits, ADRs,
runbooks, metrics and targets of every kind), and within a fixed number of statements.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tests.perf.helpers import grow_to
from tracker.core import clock
from tracker.extensions import db
from tracker.models import Engagement, User
from tracker.services.handover.views import open_items
from tracker.services.judgments.readiness import readiness
from tracker.services.read_model.engagement_page import engagement_view
from tracker.services.workflow import transitions
from tracker.services.workflow.subjects import build_subject

SEED = 31
ENGAGEMENTS = 40


def test_the_view_judges_the_same_facts_as_each_service_reading_its_own(app, query_counter):
    grow_to(app, ENGAGEMENTS, SEED)
    today = clock.now().date()
    with app.app_context():
        manager = db.session.scalar(select(User).where(User.role == "manager").order_by(User.id))
        ids = db.session.scalars(select(Engagement.id).order_by(Engagement.id)).all()
        states, compared = set(), 0
        for engagement_id in ids:
            db.session.expunge_all()  # nothing carried over from the previous engagement
            engagement = db.session.get(Engagement, engagement_id)
            with query_counter() as counter:
                view = engagement_view(engagement, today)
            # members, milestones (+updates), checklist, shadows (+sessions), ADRs (+links),
            # artifacts, access, exit, metrics, targets, drills, and the technical contact
            assert counter.count <= 15, (engagement_id, counter.statements)
            assert view.subject == build_subject(engagement, today)
            assert view.readiness == readiness(engagement)
            assert open_items(engagement, today, view.subject) == open_items(engagement, today)
            mine = transitions.options_for(manager, engagement, view.subject)
            theirs = transitions.available_transitions(manager, engagement.id, today=today)
            assert [(o.event, o.allowed, o.unmet) for o in mine] == [
                (o.event, o.allowed, o.unmet) for o in theirs
            ]
            states.add(engagement.state)
            compared += 1
        db.session.remove()
    assert compared == len(ids) >= ENGAGEMENTS
    assert len(states) >= 5, states  # the comparison spans the lifecycle, not one state


def test_the_view_shows_what_it_judges(app):
    """The page's lists and the Subject are the same rows: an ADR or runbook the panel
    lists is one the readiness counts, and the other way round."""
    grow_to(app, 12, SEED)
    with app.app_context():
        for engagement in db.session.scalars(select(Engagement).order_by(Engagement.id)):
            view = engagement_view(engagement, date.today())
            assert sorted(a.id for a in view.adrs) == [a.id for a in view.subject.adrs]
            assert sorted(a.id for a in view.artifacts) == [a.id for a in view.subject.artifacts]
            assert sorted(s.id for s in view.shadows) == [s.id for s in view.subject.shadows]
            assert [e.id for e in view.access] == [a.id for a in view.subject.access]
            assert sorted(m.id for m in view.milestones) == [m.id for m in view.subject.milestones]
            assert sorted(i.id for i in view.checklist) == [c.id for c in view.subject.checklist]
        db.session.remove()
