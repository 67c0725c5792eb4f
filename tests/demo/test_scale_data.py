"""The scale data set: deterministic per seed, idempotent, realistic, health consistent."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from tracker.demo import scale_data
from tracker.extensions import db
from tracker.models import (
    AuditEvent,
    ChecklistItem,
    Engagement,
    Milestone,
    ProviderOrganisation,
    TeamMember,
    User,
)
from tracker.services.judgments.health import refresh_health
from tracker.services.staffing.checklist_templates import TEMPLATES

# On PostgreSQL too (ADR 0216): the bulk load has a PostgreSQL branch (ANALYZE, VACUUM).
pytestmark = pytest.mark.postgres

TODAY = date(2026, 11, 20)


def _snapshot() -> list[tuple]:
    rows = db.session.execute(
        select(
            Engagement.title, Engagement.state, Engagement.health, Engagement.structure
        ).order_by(Engagement.id)
    )
    return [tuple(row) for row in rows]


def _generate_in_fresh_app(make_app, n: int, seed: int) -> list[tuple]:
    app = make_app("sqlite")
    with app.app_context():
        scale_data.generate(n, seed=seed, today=TODAY)
        snapshot = _snapshot()
        db.session.remove()
    return snapshot


def test_same_seed_gives_the_same_engagements_and_another_seed_does_not(make_app):
    first = _generate_in_fresh_app(make_app, 12, seed=3)
    second = _generate_in_fresh_app(make_app, 12, seed=3)
    other = _generate_in_fresh_app(make_app, 12, seed=4)
    assert len(first) == 12
    assert first == second
    assert [row[0] for row in first] != [row[0] for row in other]


def test_running_twice_adds_nothing_and_a_larger_n_only_tops_up(app, make_app):
    with app.app_context():
        assert scale_data.generate(6, seed=5, today=TODAY) == 6
        counts = [
            db.session.scalar(select(func.count()).select_from(m))
            for m in (Engagement, Milestone, ChecklistItem, AuditEvent, User, ProviderOrganisation)
        ]
        assert scale_data.generate(6, seed=5, today=TODAY) == 0
        again = [
            db.session.scalar(select(func.count()).select_from(m))
            for m in (Engagement, Milestone, ChecklistItem, AuditEvent, User, ProviderOrganisation)
        ]
        assert again == counts
        assert scale_data.generate(10, seed=5, today=TODAY) == 4
        topped_up = _snapshot()
    assert topped_up == _generate_in_fresh_app(make_app, 10, seed=5)


def test_generated_data_covers_every_state_with_realistic_children(ctx):
    scale_data.generate(60, seed=42, today=TODAY)
    states = set(db.session.scalars(select(Engagement.state).distinct()))
    assert states == {
        "discovery",
        "trial",
        "milestone_review",
        "extension",
        "knowledge_transfer",
        "closed",
    }
    assert db.session.scalar(select(func.count(ProviderOrganisation.id))) == 50
    assert 900 <= db.session.scalar(select(func.count(User.id))) <= 1100
    standard = sum(len(items) for items in TEMPLATES.values())
    per_engagement = db.session.execute(
        select(ChecklistItem.engagement_id, func.count()).group_by(ChecklistItem.engagement_id)
    ).all()
    assert len(per_engagement) == 60 and {count for _, count in per_engagement} == {standard}
    audit = db.session.scalar(select(func.count(AuditEvent.id)))
    assert 80 * 60 <= audit <= 120 * 60
    milestones = db.session.scalar(select(func.count(Milestone.id)))
    assert 5 * 60 <= milestones <= 15 * 60
    members = db.session.execute(
        select(TeamMember.engagement_id, func.count()).group_by(TeamMember.engagement_id)
    ).all()
    assert len(members) == 60 and min(count for _, count in members) >= 2


def test_cached_health_is_what_the_app_would_compute(ctx):
    scale_data.generate(40, seed=9)
    cached = db.session.execute(
        select(Engagement.id, Engagement.health, Engagement.health_reasons).order_by(Engagement.id)
    ).all()
    assert {row.health for row in cached} == {"green", "amber", "red"}
    refresh_health([row.id for row in cached])
    db.session.flush()
    db.session.expire_all()
    recomputed = db.session.execute(
        select(Engagement.id, Engagement.health, Engagement.health_reasons).order_by(Engagement.id)
    ).all()
    assert [tuple(r) for r in recomputed] == [tuple(r) for r in cached]


def test_generated_users_can_sign_in(app, client, auth):
    with app.app_context():
        scale_data.generate(3, seed=11, today=TODAY)
        manager = db.session.scalar(
            select(User.email).where(User.role == "manager", User.email.like("%@s11.scale%"))
        )
    response = auth.login(manager, password=scale_data.PASSWORD)
    assert response.status_code == 302
    assert client.get("/home").status_code == 200
