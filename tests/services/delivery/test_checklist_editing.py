"""Checklist item edits: two managers saving the same version at once, one wins."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from tests.factories import make_engagement
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
    barrier = threading.Barrier(2)
    outcomes = []

    def save(title: str):
        with pg_app.app_context():
            owner = db.session.get(User, ids[1])
            db.session.get(ChecklistItem, ids[0])  # both read the same version first
            barrier.wait()
            try:
                checklists.update_item(owner, ids[0], {"title": title}, ids[2])
                outcomes.append(title)
            except Conflict as exc:
                outcomes.append(type(exc).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=save, args=(t,)) for t in ("First", "Second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert "ConcurrentUpdate" in outcomes and len(outcomes) == 2
    winner = next(o for o in outcomes if o != "ConcurrentUpdate")
    with pg_app.app_context():
        stored = db.session.get(ChecklistItem, ids[0])
        assert (stored.title, stored.version) == (winner, ids[2] + 1)
        edits = select(func.count()).select_from(AuditEvent)
        assert db.session.scalar(edits.where(AuditEvent.kind == "checklist_updated")) == 1
