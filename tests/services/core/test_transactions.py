"""The unit of work: commit_and_derive keeps health current for the engagements named,
a lost race is a 409 with nothing saved, and check_version refuses a stale client."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm.exc import StaleDataError

from tests.factories import make_engagement
from tracker.core import clock
from tracker.errors import ConcurrentUpdate, StaleVersion
from tracker.extensions import db
from tracker.models import Engagement
from tracker.services.core import transactions
from tracker.services.core.transactions import (
    check_version,
    commit_and_derive,
    derive_health,
)
from tracker.services.judgments.health import compute_health, gather_facts


def _stored_health(engagement_id: int) -> str:
    db.session.expire_all()
    return db.session.scalar(select(Engagement.health).where(Engagement.id == engagement_id))


def _judged(engagement: Engagement) -> str:
    today = clock.now().date()
    health, _reasons = compute_health(
        engagement, gather_facts([engagement.id], today)[engagement.id], today
    )
    return str(health)


def _make_stale(engagement: Engagement, value: str) -> None:
    """Write a cached health the facts do not support, behind the ORM's back."""
    db.session.execute(
        update(Engagement).where(Engagement.id == engagement.id).values(health=value)
    )
    db.session.commit()


def test_commit_and_derive_recomputes_the_named_engagements_health(ctx):
    engagement = make_engagement()
    judged = _judged(engagement)
    stale = "red" if judged != "red" else "green"
    _make_stale(engagement, stale)
    assert _stored_health(engagement.id) == stale

    engagement = db.session.get(Engagement, engagement.id)
    engagement.title = "Renamed"
    commit_and_derive(health_of=engagement)

    assert _stored_health(engagement.id) == judged


def test_commit_and_derive_without_health_of_leaves_health_alone(ctx):
    engagement = make_engagement()
    stale = "red" if _judged(engagement) != "red" else "green"
    _make_stale(engagement, stale)

    engagement = db.session.get(Engagement, engagement.id)
    engagement.title = "Renamed"
    commit_and_derive()

    assert _stored_health(engagement.id) == stale
    assert db.session.get(Engagement, engagement.id).title == "Renamed"


def test_a_lost_race_is_a_conflict_and_saves_nothing(ctx):
    engagement = make_engagement(title="Before")
    engagement = db.session.get(Engagement, engagement.id)
    version = engagement.version
    # Another writer bumps the version between our read and our write.
    db.session.execute(
        update(Engagement).where(Engagement.id == engagement.id).values(version=version + 1),
        execution_options={"synchronize_session": False},
    )
    engagement.title = "Lost"
    with pytest.raises(ConcurrentUpdate):
        commit_and_derive(health_of=engagement)
    db.session.expire_all()
    assert db.session.scalar(select(Engagement.title).where(Engagement.id == engagement.id)) == (
        "Before"
    )


def test_retry_races_lets_the_caller_see_the_stale_data_error(ctx):
    engagement = db.session.get(Engagement, make_engagement().id)
    db.session.execute(
        update(Engagement)
        .where(Engagement.id == engagement.id)
        .values(version=engagement.version + 1),
        execution_options={"synchronize_session": False},
    )
    engagement.title = "Lost"
    with pytest.raises(StaleDataError):
        commit_and_derive(retry_races=True)
    db.session.rollback()


def test_deriving_health_needs_the_registered_step(ctx, monkeypatch):
    engagement = make_engagement()
    monkeypatch.setattr(transactions, "_health_step", [])
    with pytest.raises(RuntimeError, match="derived data is not registered"):
        derive_health(engagement)


def test_check_version_names_both_versions():
    class Row:
        version = 3

    check_version(Row(), None)
    check_version(Row(), 3)
    with pytest.raises(StaleVersion) as caught:
        check_version(Row(), 2, "this milestone", verb="updated")
    assert caught.value.message.startswith("Someone updated this milestone since you loaded it")
    assert caught.value.errors == {"version": ["expected 2, current 3"]}
