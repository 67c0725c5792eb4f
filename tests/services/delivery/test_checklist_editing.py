"""Checklist item edits: two managers saving the same version at once, one wins."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.factories import make_engagement
from tests.support.concurrency import run_at_once
from tracker.errors import Conflict
from tracker.extensions import db
from tracker.models import AuditEvent, ChecklistItem, User
from tracker.services.delivery import checklists


@pytest.mark.postgres
def test_two_concurrent_saves_of_one_version_exactly_one_wins_on_postgres(pg_app):
    with pg_app.app_context():
        engagement = make_engagement()
        item = db.session.scalars(
            select(ChecklistItem).where(
                ChecklistItem.engagement_id == engagement.id, ChecklistItem.fact.is_(None)
            )
        ).first()
        ids = (item.id, engagement.owner_id, item.version)
    titles = ("First", "Second")

    def read(index: int) -> None:
        db.session.get(ChecklistItem, ids[0])  # both read the same version first

    def save(index: int) -> str:
        owner = db.session.get(User, ids[1])
        checklists.update_item(owner, ids[0], {"title": titles[index]}, ids[2])
        return titles[index]

    results = run_at_once(pg_app, save, 2, prepare=read)
    assert all(isinstance(r, str | Conflict) for r in results), results
    outcomes = [r if isinstance(r, str) else type(r).__name__ for r in results]
    assert "ConcurrentUpdate" in outcomes and len(outcomes) == 2
    winner = next(o for o in outcomes if o != "ConcurrentUpdate")
    with pg_app.app_context():
        stored = db.session.get(ChecklistItem, ids[0])
        assert (stored.title, stored.version) == (winner, ids[2] + 1)
        edits = select(func.count()).select_from(AuditEvent)
        assert db.session.scalar(edits.where(AuditEvent.kind == "checklist_updated")) == 1
