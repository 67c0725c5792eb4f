"""Concurrent ADR creation on PostgreSQL: numbers stay unique and gap-free, one superseder wins."""

from __future__ import annotations

import threading

from sqlalchemy import select

from tests.factories import make_engagement, make_user
from tracker.errors import Conflict
from tracker.extensions import db
from tracker.models import Adr, User
from tracker.services.knowledge import adrs

THREADS = 6


def _run_in_threads(app, work) -> list:
    """Start every thread at once (barrier) with its own session; collect results or errors."""
    barrier = threading.Barrier(THREADS)
    results: list = [None] * THREADS

    def run(index: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                results[index] = work(index)
            except Exception as exc:  # the test inspects what each thread got
                results[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


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

    results = _run_in_threads(pg_app, create)
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

    results = _run_in_threads(pg_app, supersede)
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
