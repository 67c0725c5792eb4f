"""The cached `effective_health` and `readiness_score`/`readiness_gaps` columns stay true.

Every check reads the columns straight from the database (a column SELECT, not the
identity map) and compares them with a fresh computation, so a cache that a
service forgot to refresh, or one the session only pretends to hold, fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import inspect, select, update

from tests.factories import add_member, add_milestone, make_engagement, make_user
from tracker.core import clock
from tracker.extensions import db
from tracker.models import ChecklistItem, Engagement, TeamMember, User
from tracker.services.administration import users as user_service
from tracker.services.core.transactions import commit_and_derive
from tracker.services.delivery import checklists
from tracker.services.judgments import health
from tracker.services.judgments.readiness import parts_from_stored, readiness_many
from tracker.services.knowledge import adrs, artifacts, shadows
from tracker.services.read_model.dashboard import build_dashboard
from tracker.services.read_model.engagement_list import ListQuery

# On PostgreSQL too (ADR 0216): rows locked FOR KEY SHARE in id order.
pytestmark = pytest.mark.postgres

_READINESS_UPDATE = re.compile(r"^UPDATE engagements? SET .*readiness_score", re.I | re.S)
RUNBOOK = {"kind": "runbook", "title": "Serving runbook", "url": "https://wiki.example.com/rb"}
SESSION = {"held_on": date(2025, 5, 2), "duration_minutes": 60, "topic": "Walkthrough"}


@dataclass
class Handover:
    manager: User
    provider: User
    internal: User
    engagement: Engagement
    member: TeamMember  # external, one area: serving


@pytest.fixture
def handover(ctx) -> Handover:
    """An engagement in knowledge transfer: one external area, open KT checklist, no ADRs.

    Its readiness is 0 with 9 gaps: nothing recorded counts zero, so the 5 KT items,
    the serving shadow, the serving drill, "no ADRs recorded yet" and the runbook are
    all missing. Weights (the default [readiness] table): KT 30, shadows 30, drills 30,
    ADRs 20, runbook 20 (130 in all).
    """
    manager = make_user("manager")
    provider = make_user("provider", provider="Northwind ML")
    internal = make_user("stakeholder", name="Ivan Petrov")
    engagement = make_engagement(manager, provider="Northwind ML", title="Churn handover")
    member = add_member(engagement, "Mara Quint", areas=("serving",))
    engagement.state = "knowledge_transfer"
    db.session.commit()
    return Handover(manager, provider, internal, engagement, member)


def _noon(days_from_today: int) -> datetime:
    """A fixed instant (12:00 UTC) so adding a few hours never crosses midnight."""
    day = clock.now().date() + timedelta(days=days_from_today)
    return datetime.combine(day, time(12), tzinfo=UTC)


def _column(engagement_id: int, *columns):
    """The stored values of these columns, read from the database, not the session."""
    return tuple(db.session.execute(select(*columns).where(Engagement.id == engagement_id)).one())


def _cached_readiness(engagement_id: int) -> tuple[int | None, int | None]:
    return _column(engagement_id, Engagement.readiness_score, Engagement.readiness_gaps)


def _fresh_readiness(engagement_id: int) -> tuple[int, int]:
    result = readiness_many([engagement_id])[engagement_id]
    return result.score, len(result.gaps)


def _stamp(engagement_id: int) -> tuple[int, datetime]:
    """What a derived cache must never move: the optimistic-lock version and updated_at."""
    return _column(engagement_id, Engagement.version, Engagement.updated_at)


def _effective(engagement_id: int) -> str:
    return _column(engagement_id, Engagement.effective_health)[0]


def _null_readiness(*engagement_ids: int) -> None:
    """Make rows look as they did before migration 0002 (never scored)."""
    db.session.execute(
        update(Engagement.__table__)
        .where(Engagement.__table__.c.id.in_(engagement_ids))
        .values(readiness_score=None, readiness_gaps=None, readiness_parts=None)
    )
    db.session.commit()


def _cached_breakdown(engagement_id: int):
    """The stored breakdown read back as the dashboard reads it, with the stored gap count."""
    score, gaps, parts = _column(
        engagement_id,
        Engagement.readiness_score,
        Engagement.readiness_gaps,
        Engagement.readiness_parts,
    )
    return parts_from_stored(score, parts), gaps


def _as_bar(readiness):
    """What the row must store for a fresh computation: every part's figures and words
    (not the gaps' sentences), and how many gaps there are."""
    return replace(readiness, parts=[replace(p, gaps=()) for p in readiness.parts]), len(
        readiness.gaps
    )


def _shadow_ready_for_sign_off(setup: Handover):
    """An assignment with a session and a rating: everything but the owner's sign-off."""
    data = {"member_id": setup.member.id, "shadow_id": setup.internal.id, "areas": ["serving"]}
    assignment = shadows.assign_shadow(setup.manager, setup.engagement.id, data)
    shadows.log_session(setup.internal, assignment.id, SESSION)
    shadows.rate_confidence(setup.internal, assignment.id, 4)
    return assignment


# -- readiness: the session hook re-caches on every change to an input -----------------------


def test_a_new_engagement_is_scored_when_it_is_created(handover):
    assert _cached_readiness(handover.engagement.id) == (0, 9)
    assert _cached_readiness(handover.engagement.id) == _fresh_readiness(handover.engagement.id)


def test_proposing_an_adr_recaches_readiness_without_bumping_version_or_updated_at(handover):
    engagement_id = handover.engagement.id
    before = _stamp(engagement_id)
    adrs.create_adr(handover.provider, engagement_id, {"title": "Use Feast"})
    assert _cached_readiness(engagement_id) == (0, 9)  # a proposed ADR is a gap
    assert _cached_readiness(engagement_id) == _fresh_readiness(engagement_id)
    assert _stamp(engagement_id) == before


def test_accepting_an_adr_recaches_readiness_without_bumping_version_or_updated_at(handover):
    engagement_id = handover.engagement.id
    proposed = adrs.create_adr(handover.provider, engagement_id, {"title": "Use Feast"})
    adrs.create_adr(handover.provider, engagement_id, {"title": "Use Ray"})
    before = _stamp(engagement_id)
    adrs.decide_adr(handover.manager, proposed.id, "accepted")
    # 20 x 1/2 of 130 (drills weigh 30 too); one proposed
    assert _cached_readiness(engagement_id) == (7, 9)
    assert _cached_readiness(engagement_id) == _fresh_readiness(engagement_id)
    assert _stamp(engagement_id) == before


def test_the_commit_updates_an_engagement_kept_loaded_across_it(handover):
    """Readiness is stored by the unit of work's commit step; an engagement the caller
    keeps across the commit (commit_and_derive(keep=...)) holds the stored values."""
    engagement = db.session.get(Engagement, handover.engagement.id)
    assert engagement.readiness_score == 0
    item = db.session.scalars(
        select(ChecklistItem).where(
            ChecklistItem.engagement_id == engagement.id,
            ChecklistItem.kind == "knowledge_transfer",
        )
    ).first()
    item.status = "done"
    commit_and_derive(keep=[engagement])
    assert not inspect(engagement).expired_attributes & {"readiness_score", "readiness_gaps"}
    assert (engagement.readiness_score, engagement.readiness_gaps) == (4, 8)  # 30 x 1/5 of 130
    assert _cached_readiness(engagement.id) == (4, 8)


def test_readiness_is_stored_once_per_unit_of_work_however_often_it_flushes(ctx, query_counter):
    """A new engagement flushes several times before its commit (the engagement, its
    checklists, its bound items); readiness is judged and written once, at the commit."""
    manager = make_user("manager")
    with query_counter() as counter:
        engagement = make_engagement(manager, title="Scored once")
    stores = [s for s in counter.statements if _READINESS_UPDATE.search(s)]
    assert len(stores) == 1, stores
    assert _cached_readiness(engagement.id) == _fresh_readiness(engagement.id)


def test_a_unit_of_work_with_several_engagements_stores_each_once(handover, query_counter):
    other = make_engagement(handover.manager, title="Second")
    for engagement_id in (handover.engagement.id, other.id):
        db.session.add(
            ChecklistItem(
                engagement_id=engagement_id,
                kind="knowledge_transfer",
                title="Walk the pager rota",
                status="open",
                position=99,
            )
        )
        db.session.flush()
    with query_counter() as counter:
        commit_and_derive()
    stores = [s for s in counter.statements if _READINESS_UPDATE.search(s)]
    assert len(stores) == 1, stores  # one executemany UPDATE for both
    for engagement_id in (handover.engagement.id, other.id):
        assert _cached_readiness(engagement_id) == _fresh_readiness(engagement_id)
        assert _cached_readiness(engagement_id)[1] > 0


def test_signing_off_a_shadow_recaches_readiness(handover):
    engagement_id = handover.engagement.id
    assignment = _shadow_ready_for_sign_off(handover)
    assert _cached_readiness(engagement_id) == (0, 9)  # sessions and a rating are not enough
    shadows.sign_off(handover.manager, assignment.id)
    assert _cached_readiness(engagement_id) == (23, 8)  # 30 of 130; the area is not drilled yet
    assert _cached_readiness(engagement_id) == _fresh_readiness(engagement_id)


def test_adding_a_runbook_recaches_readiness_and_removing_it_restores_the_score(handover):
    engagement_id = handover.engagement.id
    runbook = artifacts.add_artifact(handover.provider, engagement_id, RUNBOOK)
    assert _cached_readiness(engagement_id) == (15, 8)  # 20 of 130
    assert _cached_readiness(engagement_id) == _fresh_readiness(engagement_id)
    artifacts.remove_artifact(handover.provider, runbook.id)
    assert _cached_readiness(engagement_id) == (0, 9)
    assert _cached_readiness(engagement_id) == _fresh_readiness(engagement_id)


def test_completing_a_knowledge_transfer_item_recaches_readiness(handover):
    engagement_id = handover.engagement.id
    item = db.session.scalars(
        select(ChecklistItem)
        .where(
            ChecklistItem.engagement_id == engagement_id,
            ChecklistItem.kind == "knowledge_transfer",
        )
        .order_by(ChecklistItem.id)
    ).first()
    checklists.complete_item(handover.manager, item.id, note="walked through")
    assert _cached_readiness(engagement_id) == (4, 8)  # 30 x 1/5 of 130
    assert _cached_readiness(engagement_id) == _fresh_readiness(engagement_id)


# -- effective health: the flush hook and the scheduler step ---------------------------------


def test_override_sets_effective_health_in_its_commit_and_clearing_restores_it(handover):
    engagement_id = handover.engagement.id
    assert _effective(engagement_id) == "green"
    health.override_health(handover.manager, engagement_id, "red", "Vendor dispute", None)
    assert _effective(engagement_id) == "red"
    assert _column(engagement_id, Engagement.health) == ("green",)  # derived health kept
    health.override_health(handover.manager, engagement_id, None, "", None)
    assert _effective(engagement_id) == "green"


def test_refresh_due_keeps_a_live_override_and_ends_it_once_expired(handover):
    engagement_id = handover.engagement.id
    start = _noon(30)
    until = start + timedelta(hours=1)
    health.override_health(handover.manager, engagement_id, "red", "Vendor dispute", until)
    assert health.refresh_due(now=start) == 1  # never computed: the daily pass takes it
    assert _effective(engagement_id) == "red"  # the override is still live at `start`
    before = _stamp(engagement_id)
    assert health.refresh_due(now=start + timedelta(hours=2)) == 1  # only the expiry pass
    assert _effective(engagement_id) == "green"
    assert _stamp(engagement_id) == before


def test_refresh_due_recomputes_what_time_alone_changes_without_bumping_version(handover):
    engagement = handover.engagement
    today = clock.now().date()
    engagement.state = "trial"
    engagement.trial_start = engagement.period_start = today
    engagement.trial_end = engagement.period_end = today + timedelta(days=90)
    db.session.commit()
    milestone = add_milestone(engagement, days=30)
    health.refresh_due(now=_noon(0))
    assert _column(engagement.id, Engagement.health, Engagement.effective_health) == (
        "green",
        "green",
    )
    before = _stamp(engagement.id)
    assert health.refresh_due(now=_noon(15)) == 1
    stored, reasons, effective = _column(
        engagement.id, Engagement.health, Engagement.health_reasons, Engagement.effective_health
    )
    assert (stored, effective) == ("amber", "amber")
    assert reasons == [
        {
            "code": "milestone_stale",
            "level": "amber",
            "message": f"No provider update on '{milestone.title}' for 15 days",
            "anchor": f"milestone-{milestone.id}",
        }
    ]
    assert _stamp(engagement.id) == before


def test_refresh_due_processes_at_most_batch_engagements_per_call(ctx):
    owner = make_user("manager")
    ids = [make_engagement(owner).id for _ in range(3)]
    now = _noon(1)

    def computed() -> int:
        return sum(
            1
            for (at,) in db.session.execute(
                select(Engagement.health_computed_at).where(Engagement.id.in_(ids))
            )
            if at == now
        )

    assert health.refresh_due(now=now, batch=2) == 2
    assert computed() == 2
    assert health.refresh_due(now=now, batch=2) == 1
    assert computed() == 3


def test_refresh_due_a_second_time_the_same_day_does_nothing(ctx):
    owner = make_user("manager")
    ids = [make_engagement(owner).id for _ in range(2)]
    morning = _noon(1) - timedelta(hours=3)
    assert health.refresh_due(now=morning) == 2
    assert health.refresh_due(now=morning + timedelta(hours=8)) == 0
    stamps = db.session.execute(
        select(Engagement.health_computed_at).where(Engagement.id.in_(ids))
    ).scalars()
    assert set(stamps) == {morning}


def test_refresh_due_scores_rows_never_scored(ctx):
    owner = make_user("manager")
    first, second = make_engagement(owner), make_engagement(owner)
    add_member(second, areas=("serving", "features"))
    now = _noon(1)
    health.refresh_due(now=now)  # health caught up: the next call has only scoring to do
    _null_readiness(first.id, second.id)
    before = _stamp(second.id)
    assert health.refresh_due(now=now + timedelta(hours=1)) == 2
    assert _cached_readiness(first.id) == _fresh_readiness(first.id) == (0, 9)
    assert _cached_readiness(second.id) == _fresh_readiness(second.id) == (0, 11)
    assert _cached_breakdown(second.id) == _as_bar(readiness_many([second.id])[second.id])
    assert _stamp(second.id) == before


def test_every_change_to_readiness_stores_its_breakdown_with_the_score(handover):
    """The breakdown on the row is the one a fresh computation gives, part by part, with
    its number of gaps, after each kind of change (the dashboard draws its bars from it)."""
    engagement_id = handover.engagement.id
    fresh = readiness_many([engagement_id])[engagement_id]
    assert _cached_breakdown(engagement_id) == _as_bar(fresh) and len(fresh.gaps) == 9  # drills
    before = _stamp(engagement_id)
    artifacts.add_artifact(handover.provider, engagement_id, RUNBOOK)
    shadows.sign_off(handover.manager, _shadow_ready_for_sign_off(handover).id)
    changed = readiness_many([engagement_id])[engagement_id]
    assert changed.score == 38 and changed != fresh  # (20 + 30) of 130 with drills' 30
    assert _cached_breakdown(engagement_id) == _as_bar(changed)
    assert _stamp(engagement_id) == before


def test_the_dashboard_draws_the_breakdown_stored_on_the_row(handover):
    """Reads what is stored: a breakdown written to the row is what the row shows."""
    engagement_id = handover.engagement.id
    stored = _column(engagement_id, Engagement.readiness_parts)[0]
    stored[0]["detail"] = "as stored on the row"
    db.session.execute(
        update(Engagement.__table__)
        .where(Engagement.__table__.c.id == engagement_id)
        .values(readiness_parts=stored)
    )
    db.session.commit()
    board = build_dashboard(handover.manager, ListQuery(live_only=True))
    (row,) = [r for r in board.rows if r.engagement.id == engagement_id]
    assert row.readiness.parts[0].detail == "as stored on the row"
    assert (row.readiness_score, row.readiness_gaps) == (0, 9)  # with the drills part


def test_the_row_stores_the_parts_without_the_gaps_sentences(handover):
    """The bar needs each part's figures and words; the gaps' sentences are not stored
    (the row's count says how many there are) and a row stored before, with them, draws
    the same bar without reading them."""
    engagement_id = handover.engagement.id
    fresh = readiness_many([engagement_id])[engagement_id]
    assert len(fresh.gaps) == 9
    stored = _column(engagement_id, Engagement.readiness_parts)[0]
    assert len(stored) == len(fresh.parts) and not any("gaps" in part for part in stored)
    for part in stored:
        part["gaps"] = "never read by the dashboard"  # not a list of gaps: reading it fails
    db.session.execute(
        update(Engagement.__table__)
        .where(Engagement.__table__.c.id == engagement_id)
        .values(readiness_parts=stored, readiness_gaps=4)
    )
    db.session.commit()
    board = build_dashboard(handover.manager, ListQuery(live_only=True))
    (row,) = [r for r in board.rows if r.engagement.id == engagement_id]
    assert row.readiness.parts == [replace(part, gaps=()) for part in fresh.parts]
    assert (row.readiness_score, row.readiness_gaps) == (fresh.score, 4)


def test_dashboard_computes_readiness_for_rows_never_scored(handover):
    other = make_engagement(handover.manager, title="Already scored")
    _null_readiness(handover.engagement.id)
    board = build_dashboard(
        handover.manager, ListQuery(sort="title", descending=False, live_only=True)
    )
    rows = {row.engagement.title: (row.readiness_score, row.readiness_gaps) for row in board.rows}
    assert rows["Churn handover"] == (0, 9)
    assert rows["Already scored"] == _cached_readiness(other.id) == (0, 9)
    assert _cached_readiness(handover.engagement.id) == (None, None)  # reading writes nothing


# -- what the dashboard and the API list show -------------------------------------------------


def _titles(html: str) -> list[str]:
    return re.findall(r'class="strong">([^<]+)</a>', html)


@pytest.fixture
def overridden(app):
    """Two derived-green engagements, "Bravo" overridden to red; (manager email, token)."""
    with app.app_context():
        manager = make_user("manager")
        make_engagement(manager, title="Alpha")
        bravo = make_engagement(manager, title="Bravo")
        health.override_health(manager, bravo.id, "red", "Vendor dispute", None)
        token = user_service.create_token(manager, "tests")[1]
        email = manager.email
        db.session.remove()
    return email, token


def test_dashboard_counts_filters_and_sorts_by_the_override(client, auth, overridden):
    auth.login(overridden[0])
    html = client.get("/dashboard").get_data(as_text=True)
    counts = html.split('data-testid="health-counts"')[1].split("</div>")[0]
    assert re.search(r'tile-count">1</span><span class="tile-label">Red', counts)
    assert re.search(r'tile-count">1</span><span class="tile-label">Green', counts)
    assert _titles(html) == ["Bravo", "Alpha"]  # worst health first
    red = client.get("/dashboard?health=red").get_data(as_text=True)
    assert _titles(red) == ["Bravo"]
    assert 'class="health health-red"' in red and "Overridden by a manager" in red
    assert _titles(client.get("/dashboard?health=green").get_data(as_text=True)) == ["Alpha"]


def test_api_health_filter_uses_the_override(client, overridden):
    headers = {"Authorization": f"Bearer {overridden[1]}"}
    red = client.get("/api/v1/engagements?health=red", headers=headers).get_json()
    assert [(e["title"], e["health"]) for e in red["items"]] == [("Bravo", "red")]
    green = client.get("/api/v1/engagements?health=green", headers=headers).get_json()
    assert [e["title"] for e in green["items"]] == ["Alpha"]


def test_dashboard_page_shows_readiness_for_rows_never_scored(app, client, auth):
    with app.app_context():
        manager = make_user("manager")
        engagement = make_engagement(manager, title="Legacy")
        _null_readiness(engagement.id)
        email, engagement_id = manager.email, engagement.id
        db.session.remove()
    auth.login(email)
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'title="9 gaps" data-testid="readiness">0%</span>' in html
    with app.app_context():
        assert _cached_readiness(engagement_id) == (None, None)


@pytest.mark.postgres
def test_concurrent_changes_to_different_inputs_leave_the_score_of_both(pg_app):
    """Two transactions scoring at once: the later commit must have seen the earlier one.

    A adds a runbook and holds its transaction open after the flush (where the score
    is cached); B completes a knowledge-transfer item meanwhile. Without the row lock
    B scored without A's runbook and, committing last, cached a stale score.
    """
    import threading

    with pg_app.app_context():
        engagement = make_engagement(make_user("manager"), provider="Northwind ML")
        add_member(engagement, "Mara Quint", areas=("serving",))
        engagement.state = "knowledge_transfer"
        db.session.commit()
        engagement_id = engagement.id
        item_id = db.session.scalar(
            select(ChecklistItem.id).where(
                ChecklistItem.engagement_id == engagement_id,
                ChecklistItem.kind == "knowledge_transfer",
            )
        )
        db.session.remove()
    flushed, b_done = threading.Event(), threading.Event()
    errors: list = []

    def add_runbook_slowly():
        from tracker.models import Artifact

        with pg_app.app_context():
            try:
                db.session.add(Artifact(engagement_id=engagement_id, **RUNBOOK))
                db.session.flush()
                flushed.set()
                b_done.wait(timeout=1.5)  # B is blocked on the lock, or (unfixed) done
                db.session.commit()
            except Exception as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    def complete_item():
        with pg_app.app_context():
            try:
                flushed.wait(timeout=10)
                item = db.session.get(ChecklistItem, item_id)
                item.status = "done"
                db.session.commit()
                b_done.set()
            except Exception as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=add_runbook_slowly), threading.Thread(target=complete_item)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    with pg_app.app_context():
        assert _cached_readiness(engagement_id) == _fresh_readiness(engagement_id)
        db.session.remove()


@pytest.mark.postgres
def test_two_schedulers_refreshing_the_same_rows_at_once_both_succeed(pg_app):
    """Several scheduler processes run the health step at once: no deadlock, no error."""
    import threading

    with pg_app.app_context():
        owner = make_user("manager")
        ids = [make_engagement(owner, title=f"E{i}").id for i in range(40)]
        db.session.remove()
    now, barrier, results = _noon(1), threading.Barrier(3), []

    def refresh():
        with pg_app.app_context():
            try:
                barrier.wait(timeout=10)
                results.append(health.refresh_due(now=now))
            except Exception as exc:  # reported by the assertion below
                results.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=refresh) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(isinstance(r, int) for r in results), results
    assert sum(results) >= len(ids)
    with pg_app.app_context():
        stamps = db.session.scalars(
            select(Engagement.health_computed_at).where(Engagement.id.in_(ids))
        ).all()
        assert set(stamps) == {now}
        db.session.remove()


def test_refreshing_health_reads_no_engagement_row_the_session_holds(app, query_counter):
    """A milestone update loads its engagement; the health step before the commit judges
    that object instead of reading the wide row again (issue 29). An engagement the
    session does not hold (or holds expired) is read, and its health still cached."""
    from tests.factories import make_engagement
    from tracker.extensions import db
    from tracker.services.judgments.health import refresh_health

    def engagement_reads(statements):
        return [s for s in statements if s.lstrip().startswith("SELECT engagement.")]

    with app.app_context():
        held = make_engagement(title="Held")
        other_id = make_engagement(title="Other").id
        held_id = held.id
        db.session.expire(db.session.get(type(held), other_id))
        assert held.title == "Held"  # loaded, unexpired
        with query_counter() as counter:
            refresh_health([held_id])
        assert engagement_reads(counter.statements) == []
        with query_counter() as counter:
            refresh_health([held_id, other_id])
        reads = engagement_reads(counter.statements)
        assert len(reads) == 1 and "IN" in reads[0], reads  # only the expired one
        assert held.health_computed_at is not None
        assert db.session.get(type(held), other_id).health_computed_at is not None
        db.session.rollback()
