"""The stored sort rank of health (ADR 0239) matches the effective health on every path that
writes it: a flush (create, an edit, a manager's override), the scheduler's set-based
re-judging, a set-based UPDATE through the session and the demo's set-based bulk load.
And a health-ranked page is read in index order (no sort of every live row)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import bindparam, select, text, update

from tests.factories import add_milestone, make_engagement, make_user
from tests.perf.helpers import grow_analysed, grow_to
from tracker.core import clock
from tracker.extensions import db
from tracker.models import Engagement, User
from tracker.models.base import HEALTH_RANKS, UNKNOWN_HEALTH_RANK, health_rank
from tracker.models.engagement import cached_values_update
from tracker.services.delivery import milestones
from tracker.services.judgments import health
from tracker.services.read_model import engagement_list
from tracker.services.read_model.engagement_list import ListQuery

pytestmark = pytest.mark.postgres  # the set-based paths and the plans differ by database


def _mismatches() -> list[tuple]:
    """Engagements whose stored rank is not the rank of their stored effective health."""
    db.session.expire_all()
    rows = db.session.execute(
        select(Engagement.id, Engagement.effective_health, Engagement.health_rank)
    ).all()
    assert rows, "nothing to compare"
    return [row for row in rows if row.health_rank != health_rank(row.effective_health)]


def _ranks() -> dict[int, tuple[str, int]]:
    db.session.expire_all()
    query = select(Engagement.id, Engagement.effective_health, Engagement.health_rank)
    return {i: (h, r) for i, h, r in db.session.execute(query)}


def test_the_ranks_put_the_worst_health_first_and_anything_unknown_last():
    assert health_rank("red") < health_rank("amber") < health_rank("green")
    assert health_rank("purple") == health_rank(None) == UNKNOWN_HEALTH_RANK
    assert UNKNOWN_HEALTH_RANK > max(HEALTH_RANKS.values())


def test_a_flush_ranks_what_it_creates_and_every_change_of_health(ctx):
    manager = make_user("manager")
    engagement = make_engagement(manager, provider="Northwind ML")
    assert _ranks()[engagement.id] == ("green", health_rank("green"))
    # an edit that moves the judged health, through its service (the commit step)
    engagement.state = "trial"
    engagement.trial_start = engagement.period_start = clock.now().date() - timedelta(days=10)
    engagement.trial_end = engagement.period_end = clock.now().date() + timedelta(days=80)
    db.session.commit()
    milestone = add_milestone(engagement, days=40)
    provider = make_user("provider", provider="Northwind ML")
    milestones.record_update(provider, milestone.id, status="blocked", note="no GPU quota")
    assert _ranks()[engagement.id] == ("red", health_rank("red"))
    # a manager's override, and clearing it
    manager = db.session.get(User, manager.id)
    health.override_health(manager, engagement.id, "amber", "Vendor answered", None)
    assert _ranks()[engagement.id] == ("amber", health_rank("amber"))
    health.override_health(manager, engagement.id, None, "", None)
    assert _ranks()[engagement.id] == ("red", health_rank("red"))
    assert _mismatches() == []


def test_the_scheduler_ranks_an_override_that_expires(ctx):
    manager = make_user("manager")
    engagement_id = make_engagement(manager, provider="Northwind ML").id
    start = datetime.combine(clock.now().date() + timedelta(days=30), time(12), tzinfo=UTC)
    health.override_health(manager, engagement_id, "red", "Dispute", start + timedelta(hours=1))
    health.refresh_due(now=start)
    assert _ranks()[engagement_id] == ("red", health_rank("red"))
    health.refresh_due(now=start + timedelta(hours=2))  # set-based store_health
    assert _ranks()[engagement_id] == ("green", health_rank("green"))


@pytest.mark.raw_engagement_writes  # the cached health written behind the app's back
def test_a_set_based_update_through_the_session_ranks_the_health_it_writes(ctx):
    manager = make_user("manager")
    ids = [make_engagement(manager, provider="Northwind ML").id for _ in range(4)]
    # a literal value
    db.session.execute(
        update(Engagement).where(Engagement.id == ids[0]).values(effective_health="red")
    )
    # an SQL expression
    db.session.execute(
        update(Engagement).where(Engagement.id == ids[1]).values(effective_health=text("'amber'"))
    )
    # executemany with a named parameter (as the cached-values UPDATE writes)
    statement = cached_values_update(effective_health=bindparam("new_effective"))
    db.session.execute(
        statement,
        [{"row_id": ids[2], "new_effective": "amber"}, {"row_id": ids[3], "new_effective": "red"}],
    )
    db.session.commit()
    ranks = _ranks()
    assert [ranks[i] for i in ids] == [
        ("red", 0),
        ("amber", 1),
        ("amber", 1),
        ("red", 0),
    ]
    assert _mismatches() == []


def test_the_demos_set_based_load_ranks_every_row_it_judges(app):
    grow_to(app, 60, seed=31)
    with app.app_context():
        ranks = _ranks()
        assert {h for h, _ in ranks.values()} >= {"red", "green"}, "a mix of healths to rank"
        assert _mismatches() == []
        db.session.remove()


def test_a_health_ranked_page_is_in_rank_then_id_order_both_ways(app):
    grow_to(app, 60, seed=31)
    with app.app_context():
        manager = db.session.scalar(select(User).where(User.role == "manager").limit(1))
        live = {
            i: r
            for i, r, closed in db.session.execute(
                select(Engagement.id, Engagement.health_rank, Engagement.closed_at)
            )
            if closed is None
        }
        for descending in (False, True):
            query = ListQuery(sort="health", descending=descending, live_only=True, per_page=20)
            pages = [engagement_list.list_page(manager, replace(query, page=n)) for n in (1, 2)]
            got = [row.engagement.id for page in pages for row in page.rows]
            expected = sorted(live, key=lambda i: (live[i], i), reverse=descending)[:40]
            assert got == expected, descending
            assert [health_rank(row.health) for p in pages for row in p.rows] == [
                live[i] for i in got
            ]
        db.session.remove()


def _page_ids_statement(query: ListQuery, actor) -> str:
    """The page's id statement (the subquery that sorts and cuts), with literal values."""
    where = engagement_list.clauses(actor, query)
    statement = (
        select(Engagement.id)
        .where(*where)
        .order_by(*engagement_list._order_by(query))
        .limit(query.per_page)
    )
    dialect = db.engine.dialect
    return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


@pytest.mark.parametrize(
    "query",
    [
        ListQuery(sort="health", live_only=True, per_page=50),
        ListQuery(sort="health", descending=True, live_only=True, per_page=50),
        ListQuery(sort="health", state="trial", per_page=50),
    ],
    ids=["live worst first", "live best first", "one state"],
)
def test_the_health_ranked_page_needs_no_sort_of_the_rows(app, seeded_copies, query):
    """The plan reads the rank index in order up to the LIMIT: SQLite needs no temporary
    B-tree for the ORDER BY, and PostgreSQL, told not to sort where it can avoid it, has
    no Sort node (with the old CASE over the health no index could serve either)."""
    grow_analysed(app, seeded_copies, 200, seed=31)
    with app.app_context():
        manager = db.session.scalar(select(User).where(User.role == "manager").limit(1))
        sql = _page_ids_statement(query, manager)
        if db.engine.dialect.name == "sqlite":
            plan = [row[-1] for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {sql}"))]
            assert not any("TEMP B-TREE" in step for step in plan), plan
            assert any("_rank" in step for step in plan), plan
        else:
            db.session.execute(text("SET LOCAL enable_sort = off"))
            db.session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = [row[0] for row in db.session.execute(text(f"EXPLAIN {sql}"))]
            assert not any("Sort" in line for line in plan), plan
            assert any("_rank" in line for line in plan), plan
        db.session.rollback()
        db.session.remove()


@pytest.mark.raw_engagement_writes  # the cached health written behind the app's back
def test_an_update_whose_rows_carry_the_health_ranks_each_row(ctx):
    """An executemany UPDATE with no values of its own: each row's parameters name the
    effective health (the SET clause comes from them), so each row gets its rank."""
    manager = make_user("manager")
    ids = [make_engagement(manager, provider="Northwind ML").id for _ in range(2)]
    table = Engagement.__table__
    db.session.execute(
        update(table).where(table.c.id == bindparam("row_id")),
        [
            {"row_id": ids[0], "effective_health": "amber"},
            {"row_id": ids[1], "effective_health": "red"},
        ],
    )
    db.session.commit()
    ranks = _ranks()
    assert [ranks[i] for i in ids] == [("amber", 1), ("red", 0)]
