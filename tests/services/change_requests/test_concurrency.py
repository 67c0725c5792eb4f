"""Approving one change request from several sessions at once on PostgreSQL (issue 31):
exactly one approval wins, its changes apply once, and the trail has one entry."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import add_member, add_milestone, make_engagement, make_user
from tests.support.concurrency import run_at_once
from tracker.errors import Conflict
from tracker.extensions import db
from tracker.models import AuditEvent, ChangeRequest, Milestone, User
from tracker.services.change_requests import service

pytestmark = pytest.mark.postgres
THREADS = 4


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

    results = run_at_once(pg_app, approve, THREADS)
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
