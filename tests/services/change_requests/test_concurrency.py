"""Approving one change request from several sessions at once on PostgreSQL (issue 31):
exactly one approval wins, its changes apply once, and the trail has one entry."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import add_member, add_milestone, make_engagement, make_user
from tracker.errors import Conflict
from tracker.extensions import db
from tracker.models import AuditEvent, ChangeRequest, Milestone, User
from tracker.services.change_requests import service

pytestmark = pytest.mark.postgres
THREADS = 4


def _run_at_once(app, work) -> list:
    barrier = threading.Barrier(THREADS)
    results: list = [None] * THREADS

    def run(index: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                results[index] = work(index)
            except Exception as exc:  # each thread's outcome is inspected below
                results[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _proposed(app):
    """An engagement in its trial and a proposed request moving a milestone 21 days."""
    with app.app_context():
        owner = make_user("manager")
        deciders = [owner.id] + [make_user("admin").id for _ in range(THREADS - 1)]
        provider = make_user("provider", provider="Northwind ML")
        engagement = make_engagement(owner)
        engagement.state = "trial"
        engagement.trial_start = engagement.period_start = date.today()
        engagement.trial_end = engagement.period_end = date.today() + timedelta(days=90)
        db.session.commit()
        milestone = add_milestone(engagement)
        add_member(engagement)
        change = {
            "target": "milestone",
            "id": milestone.id,
            "field": "due_date",
            "to": (milestone.due_date + timedelta(days=21)).isoformat(),
        }
        request = service.raise_request(
            provider, engagement.id, {"changes": [change], "why": "Data late"}
        )
        return deciders, engagement.id, milestone.id, request.id, milestone.due_date


def test_two_approvers_at_once_exactly_one_wins_with_one_audit_entry(pg_app):
    deciders, engagement_id, milestone_id, request_id, due = _proposed(pg_app)

    def approve(index: int) -> str:
        actor = db.session.get(User, deciders[index])
        return service.approve(actor, request_id).state

    results = _run_at_once(pg_app, approve)
    winners = [r for r in results if r == "approved"]
    assert len(winners) == 1, results
    losers = [r for r in results if r != "approved"]
    assert all(isinstance(r, Conflict) for r in losers), results
    with pg_app.app_context():
        request = db.session.get(ChangeRequest, request_id)
        assert request.state == "approved" and request.decided_by_id in deciders
        assert db.session.get(Milestone, milestone_id).due_date == due + timedelta(days=21)
        entries = db.session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.engagement_id == engagement_id,
                AuditEvent.kind == "change_request_approved",
            )
        )
        assert entries == 1
