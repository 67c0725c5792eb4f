"""The unit of work: commit_and_derive re-judges the health of the engagements whose
inputs the unit of work wrote (nobody names them), a failing derived step or a lost race
saves nothing, and check_version refuses a stale client."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm.exc import StaleDataError

from tests.factories import make_engagement
from tracker.core import clock
from tracker.errors import ConcurrentUpdate, StaleVersion
from tracker.extensions import db
from tracker.models import Engagement, ProviderOrganisation
from tracker.services import derived
from tracker.services.core import transactions
from tracker.services.core.transactions import check_version, commit_and_derive
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


def test_commit_and_derive_rejudges_an_engagement_whose_inputs_changed(ctx):
    engagement = make_engagement()
    judged = _judged(engagement)
    stale = "red" if judged != "red" else "green"
    _make_stale(engagement, stale)
    assert _stored_health(engagement.id) == stale

    engagement = db.session.get(Engagement, engagement.id)
    engagement.title = "Renamed"
    commit_and_derive()

    assert _stored_health(engagement.id) == judged


def test_health_is_judged_as_of_the_unit_of_works_now(ctx):
    engagement = db.session.get(Engagement, make_engagement().id)
    # The day before: a stamp from the same day would stay as it is (ADR 0261).
    as_of = clock.now().replace(microsecond=0) - timedelta(days=1, hours=5)
    engagement.title = "Renamed"
    commit_and_derive(now=as_of)
    db.session.expire_all()
    assert db.session.get(Engagement, engagement.id).health_computed_at == as_of


def test_an_engagement_only_read_or_untouched_keeps_its_cached_health(ctx):
    engagement = make_engagement()
    stale = "red" if _judged(engagement) != "red" else "green"
    _make_stale(engagement, stale)

    engagement = db.session.get(Engagement, engagement.id)
    assert engagement.title  # read, not written
    provider = db.session.get(ProviderOrganisation, engagement.provider_id)
    provider.name = "Renamed Ltd"  # not a health input
    commit_and_derive()

    assert _stored_health(engagement.id) == stale
    assert db.session.get(ProviderOrganisation, provider.id).name == "Renamed Ltd"


def test_a_failing_derived_step_rolls_the_whole_unit_of_work_back(ctx, monkeypatch):
    engagement = make_engagement(title="Before")

    def broken(engagement_ids, *, now=None):
        raise RuntimeError("health step failed")

    step = next(s for s in derived.COMMIT_STEPS if s.step is derived.refresh_health)
    monkeypatch.setattr(
        derived,
        "COMMIT_STEPS",
        (derived.CommitStep(step.keeps, step.touched, step.inserted, broken),),
    )
    engagement = db.session.get(Engagement, engagement.id)
    engagement.title = "Half applied"
    with pytest.raises(RuntimeError, match="health step failed"):
        commit_and_derive()

    db.session.expire_all()
    title = db.session.scalar(select(Engagement.title).where(Engagement.id == engagement.id))
    assert title == "Before"
    # The session is usable again and nothing of the failed unit is left to derive.
    assert derived.TOUCHED not in db.session.info
    monkeypatch.undo()
    db.session.get(Engagement, engagement.id).title = "After"
    commit_and_derive()
    assert db.session.scalar(select(Engagement.title).where(Engagement.id == engagement.id)) == (
        "After"
    )


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
        commit_and_derive()
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


def test_committing_needs_the_registered_pipeline(ctx, monkeypatch):
    make_engagement()
    monkeypatch.setattr(transactions, "_commit_hook", [])
    with pytest.raises(RuntimeError, match="derived data is not registered"):
        commit_and_derive()


def test_check_version_names_both_versions():
    class Row:
        version = 3

    check_version(Row(), None)
    check_version(Row(), 3)
    with pytest.raises(StaleVersion) as caught:
        check_version(Row(), 2, "this milestone", verb="updated")
    assert caught.value.message.startswith("Someone updated this milestone since you loaded it")
    assert caught.value.errors == {"version": ["expected 2, current 3"]}


def test_kept_objects_hold_their_committed_values_and_the_rest_is_expired(ctx, query_counter):
    """`keep`: what the caller answers with stays loaded as committed, derived steps
    included (health was re-judged in the same commit); everything else is expired."""
    from sqlalchemy import inspect

    engagement = make_engagement(title="Kept")
    other = make_engagement(title="Not kept")
    judged = _judged(engagement)
    stale = "red" if judged != "red" else "green"
    _make_stale(engagement, stale)
    db.session.commit()
    engagement.title = "Kept, renamed"  # a health input: re-judged in the commit
    other.title = "Not kept either"
    commit_and_derive(keep=(engagement,))
    with query_counter() as counter:
        seen = (engagement.title, engagement.health, engagement.version)
    assert counter.count == 0, counter.statements
    assert "title" in inspect(other).expired_attributes
    assert seen[:2] == ("Kept, renamed", judged)
    assert seen[1] == _stored_health(engagement.id) != stale
    db.session.delete(other)
    commit_and_derive(keep=(other,))  # deleted by the unit of work: nothing to restore
    assert inspect(other).detached
