"""Concurrent ADR creation on PostgreSQL: numbers stay unique and gap-free, one superseder wins."""

from __future__ import annotations

from sqlalchemy import select

from tests.factories import make_engagement, make_user
from tests.support.concurrency import run_at_once
from tracker.errors import Conflict
from tracker.extensions import db
from tracker.models import Adr, User
from tracker.services.knowledge import adrs

THREADS = 6


def _setup(app):
    with app.app_context():
        manager = make_user("manager")
        engagement = make_engagement(manager)
        first = adrs.create_adr(
            manager, engagement.id, {"title": "Use MySQL", "status": "accepted"}
        )
        return manager.id, engagement.id, first.id


def test_concurrent_creation_gives_distinct_sequential_numbers(pg_app):
    manager_id, engagement_id, _ = _setup(pg_app)

    def create(index: int) -> int:
        actor = db.session.get(User, manager_id)
        return adrs.create_adr(actor, engagement_id, {"title": f"Decision {index}"}).number

    results = run_at_once(pg_app, create, THREADS)
    assert all(isinstance(r, int) for r in results), results
    assert sorted(results) == list(range(2, 2 + THREADS))
    with pg_app.app_context():
        numbers = db.session.scalars(select(Adr.number).where(Adr.engagement_id == engagement_id))
        assert sorted(numbers) == list(range(1, 2 + THREADS))


def test_concurrent_superseders_leave_exactly_one_link(pg_app):
    manager_id, engagement_id, first_id = _setup(pg_app)

    def supersede(index: int) -> int:
        actor = db.session.get(User, manager_id)
        data = {"title": f"Use Postgres {index}", "status": "accepted", "supersedes_id": first_id}
        return adrs.create_adr(actor, engagement_id, data).number

    results = run_at_once(pg_app, supersede, THREADS)
    winners = [r for r in results if isinstance(r, int)]
    assert len(winners) == 1, results
    assert all(isinstance(r, Conflict | adrs.ValidationFailed) for r in results if r not in winners)
    with pg_app.app_context():
        old = db.session.get(Adr, first_id)
        assert old.status == "superseded"
        assert [a.number for a in old.superseded_by] == winners
        assert (
            len(db.session.scalars(select(Adr).where(Adr.engagement_id == engagement_id)).all())
            == 2
        )
