"""What the health step writes when the health stays (ADR 0261).

Reasons that move under an unchanged health: one version-checked UPDATE.

A status flip rewrites its engagement's reasons far more often than its colour. That
change is written without a second ORM flush, but with the ORM's guarantees: the version
moves (the reasons are part of the engagement's representation, so its ETag changes), a
row changed since the unit of work read it is a lost race (409, nothing saved), and the
session's object holds what was written. On PostgreSQL, two milestone updates of one
engagement at once cannot both store reasons judged from snapshots missing the other's.
When nothing moves, the computed-at stamp is written only when it is from another day.
"""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import inspect, select, update
from sqlalchemy.orm.exc import StaleDataError

from tests.factories import add_milestone, make_engagement, make_user
from tests.support.concurrency import run_at_once
from tracker.core import clock
from tracker.errors import ConcurrentUpdate
from tracker.extensions import db
from tracker.models import Engagement, Milestone, User
from tracker.services.core.transactions import commit_and_derive
from tracker.services.delivery import milestones
from tracker.services.judgments import engagement_counts, health
from tracker.services.judgments.health import compute_health, gather_facts, refresh_health

# On PostgreSQL too (ADR 0216): the write's rowcount check and the concurrency test.
pytestmark = pytest.mark.postgres


def _stored(engagement_id: int):
    """The row as the database holds it (a column SELECT, not the identity map)."""
    columns = (
        Engagement.health,
        Engagement.effective_health,
        Engagement.health_reasons,
        Engagement.health_computed_at,
        Engagement.version,
        Engagement.updated_at,
    )
    return db.session.execute(select(*columns).where(Engagement.id == engagement_id)).one()


def _at_risk(reasons) -> list[str]:
    return sorted(r["anchor"] for r in reasons if r["code"] == "milestone_at_risk")


def _fresh_reasons(engagement_id: int):
    """Health and reasons judged now from everything committed."""
    engagement = db.session.get(Engagement, engagement_id)
    today = clock.now().date()
    return compute_health(engagement, gather_facts([engagement_id], today)[engagement_id], today)


def _amber_with_two_open(provider_org="Northwind ML"):
    """An engagement amber for one at-risk milestone, with two more still planned."""
    provider = make_user("provider", provider=provider_org)
    engagement = make_engagement(provider=provider_org)
    risky, *planned = (add_milestone(engagement, days=30 + i) for i in range(3))
    milestones.record_update(provider, risky.id, status="at_risk", note="Data late")
    return provider, engagement.id, [m.id for m in planned]


def test_reasons_that_move_under_the_same_health_bump_the_version_but_not_updated_at(
    ctx, query_counter
):
    provider, engagement_id, (second, _) = _amber_with_two_open()
    before = _stored(engagement_id)
    assert before.health == "amber" and len(_at_risk(before.health_reasons)) == 1
    with query_counter() as counter:
        milestones.record_update(provider, second, status="at_risk", note="Also late")
    after = _stored(engagement_id)
    assert (after.health, after.effective_health) == ("amber", "amber")
    assert _at_risk(after.health_reasons) == sorted(
        [*_at_risk(before.health_reasons), f"milestone-{second}"]
    )
    assert after.version == before.version + 1  # the ETag moves with the reasons
    assert after.updated_at == before.updated_at  # a derived value, not an edit
    assert after.health_computed_at > before.health_computed_at
    writes = [s for s in counter.statements if s.lstrip().upper().startswith("UPDATE ENGAGEMENT")]
    assert len(writes) == 1, writes
    assert "version" in writes[0] and "health_reasons" in writes[0]
    assert "updated_at=engagement.updated_at" in writes[0].replace(" ", "")
    assert (after.health, after.health_reasons) == _fresh_reasons(engagement_id)


def test_the_session_holds_the_written_reasons_and_version(ctx, query_counter):
    """The object is not left dirty or stale: a later edit in the same unit of work is
    checked against the version the reasons' UPDATE wrote, and succeeds."""
    _provider, engagement_id, (second, _) = _amber_with_two_open()
    engagement = db.session.get(Engagement, engagement_id)
    version = engagement.version
    db.session.get(Milestone, second).status = "at_risk"
    db.session.flush()
    refresh_health([engagement_id])
    stored = _stored(engagement_id)
    assert stored.version == version + 1 == engagement.version
    assert engagement.health_reasons == stored.health_reasons
    assert not inspect(engagement).modified  # nothing left for a flush to write
    engagement.title = "Renamed in the same unit of work"
    db.session.commit()  # the ORM's check against the synced version passes
    assert _stored(engagement_id).version == version + 2


def test_a_row_changed_since_it_was_read_is_a_lost_race_and_saves_nothing(ctx, monkeypatch):
    provider, engagement_id, (second, _) = _amber_with_two_open()
    before = _stored(engagement_id)
    real_gather = health.gather_facts

    def gather_then_someone_writes(ids, today):
        facts = real_gather(ids, today)
        # Another writer's committed change, as this transaction's UPDATE would find it.
        db.session.execute(
            update(Engagement.__table__)
            .where(Engagement.__table__.c.id == engagement_id)
            .values(version=Engagement.__table__.c.version + 1)
        )
        return facts

    monkeypatch.setattr(health, "gather_facts", gather_then_someone_writes)
    with pytest.raises(ConcurrentUpdate):
        milestones.record_update(provider, second, status="at_risk", note="Also late")
    monkeypatch.undo()
    after = _stored(engagement_id)
    assert (after.version, after.health_reasons) == (before.version, before.health_reasons)
    assert db.session.get(Milestone, second).status == "planned"


@pytest.mark.postgres
def test_two_milestone_updates_of_one_engagement_at_once_cannot_both_store_their_reasons(
    pg_app, monkeypatch
):
    """Each update judges its engagement from a snapshot without the other's change: both
    must not win, or the reasons stored last would miss one at-risk milestone."""
    with pg_app.app_context():
        provider, engagement_id, planned = _amber_with_two_open()
        provider_id, version = provider.id, _stored(engagement_id).version
        db.session.remove()
    both_judged = threading.Barrier(2)
    real_gather = health.gather_facts

    def gather_then_wait(ids, today):
        facts = real_gather(ids, today)
        both_judged.wait(timeout=10)  # each has read its facts before either writes
        return facts

    monkeypatch.setattr(health, "gather_facts", gather_then_wait)

    def flip(index: int) -> str:
        actor = db.session.get(User, provider_id)
        return milestones.record_update(actor, planned[index], status="at_risk").status

    outcomes = run_at_once(pg_app, flip, 2)
    seen = sorted("won" if o == "at_risk" else type(o).__name__ for o in outcomes)
    assert seen == ["ConcurrentUpdate", "won"], outcomes
    winner = planned[outcomes.index("at_risk")]
    with pg_app.app_context():
        stored = _stored(engagement_id)
        assert stored.version == version + 1
        assert f"milestone-{winner}" in _at_risk(stored.health_reasons)
        assert (stored.health, stored.health_reasons) == _fresh_reasons(engagement_id)
        db.session.remove()


def test_a_rejudgement_that_moves_nothing_writes_the_stamp_only_on_another_day(ctx, query_counter):
    """The stamp answers the scheduler's "computed before today's midnight?" only: a
    commit later the same day leaves it (no statement); one on the next day moves it."""
    engagement_id = make_engagement().id
    stamp = _stored(engagement_id).health_computed_at
    next_midnight = clock.midnight(stamp) + timedelta(days=1)
    engagement = db.session.get(Engagement, engagement_id)
    engagement.title = "Renamed"  # one of its health inputs: the commit re-judges it
    with query_counter() as counter:
        commit_and_derive(now=stamp + (next_midnight - stamp) / 2)
    stamps = [s for s in counter.statements if re.match(r"\s*UPDATE .*health_computed_at", s, re.S)]
    assert stamps == [] and _stored(engagement_id).health_computed_at == stamp
    assert _stored(engagement_id).health_reasons == _fresh_reasons(engagement_id)[1]
    engagement = db.session.get(Engagement, engagement_id)
    engagement.title = "Renamed again"
    tomorrow = next_midnight + timedelta(hours=1)
    commit_and_derive(now=tomorrow)
    assert _stored(engagement_id).health_computed_at == tomorrow


def test_reasons_that_move_beside_an_ended_override_take_the_orm_path(ctx):
    """An override that has ended but is still the stored effective health (the scheduler
    has not caught up): the flush that writes the new reasons brings the effective health
    back to the derived one, as it always did."""
    provider, engagement_id, (second, _) = _amber_with_two_open()
    table = Engagement.__table__
    db.session.execute(
        update(table)
        .where(table.c.id == engagement_id)
        .values(
            health_override="red",
            health_override_note="Escalated",
            health_override_until=clock.now() - timedelta(minutes=1),
            effective_health="red",
        )
    )
    engagement_counts.recount(db.session)  # what the app's writers would have recorded
    db.session.commit()
    milestones.record_update(provider, second, status="at_risk", note="Also late")
    stored = _stored(engagement_id)
    assert (stored.health, stored.effective_health) == ("amber", "amber")
    assert len(_at_risk(stored.health_reasons)) == 2


def test_reasons_of_several_engagements_in_one_unit_of_work_are_each_version_checked(ctx):
    """The write is one executemany; each row is checked, so one stale row of two fails
    the lot (the ORM's own multi-row check) and a clean pair writes both."""
    pairs = [_amber_with_two_open() for _ in range(2)]
    ids = [engagement_id for _provider, engagement_id, _planned in pairs]
    versions = [_stored(i).version for i in ids]
    held = [db.session.get(Engagement, i) for i in ids]
    assert [e.version for e in held] == versions  # read by this unit of work
    for _provider, _engagement_id, (second, _) in pairs:
        db.session.get(Milestone, second).status = "at_risk"
    db.session.flush()
    table = Engagement.__table__
    db.session.execute(
        update(table).where(table.c.id == ids[1]).values(version=table.c.version + 1)
    )
    with pytest.raises(StaleDataError):
        refresh_health(ids)
    db.session.rollback()
    for _provider, _engagement_id, (second, _) in pairs:
        db.session.get(Milestone, second).status = "at_risk"
    db.session.flush()
    refresh_health(ids)
    db.session.commit()
    assert [_stored(i).version for i in ids] == [v + 1 for v in versions]
    assert all(len(_at_risk(_stored(i).health_reasons)) == 2 for i in ids)
