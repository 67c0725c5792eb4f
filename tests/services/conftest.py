"""Fixtures for knowledge-retention tests: an engagement in knowledge transfer and its people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from tests.factories import add_member, make_engagement, make_user
from tracker.extensions import db
from tracker.models import Engagement, TeamMember, User


@dataclass
class KnowledgeSetup:
    manager: User
    provider: User
    internal: User
    engagement: Engagement
    mara: TeamMember  # external, areas: serving, features
    tom: TeamMember  # external, area: pipelines


@pytest.fixture
def kt(ctx) -> KnowledgeSetup:
    """An engagement in knowledge_transfer with two external members and an internal engineer."""
    manager = make_user("manager")
    provider = make_user("provider", provider="Northwind ML")
    internal = make_user("stakeholder", name="Ivan Petrov")
    engagement = make_engagement(manager, provider="Northwind ML", title="Churn handover")
    mara = add_member(engagement, "Mara Quint", areas=("serving", "features"))
    tom = add_member(engagement, "Tom Ruiz", areas=("pipelines",))
    add_member(engagement, "Ivan Petrov", areas=("everything",), external=False)
    engagement.state = "knowledge_transfer"
    engagement.trial_start = date(2025, 1, 6)
    db.session.commit()
    return KnowledgeSetup(manager, provider, internal, engagement, mara, tom)
