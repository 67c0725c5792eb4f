"""The dashboard's kept counts (engagements per state, live ones per effective health)
follow every writer, fold without changing, and never make two writers wait (ADR 0259).

Every test of the suite also checks the kept counts against the rows when it ends
(tests/support/databases.py); these tests name each kind of move and what it must do.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select, text

from tests.factories import make_engagement, make_user
from tracker.core import clock
from tracker.extensions import db
from tracker.models import Engagement, EngagementCount, User
from tracker.scheduling.tick import run_tick
from tracker.services.judgments import engagement_counts, health


def _counts():
    kept = engagement_counts.counts()
    assert kept == engagement_counts.counted_afresh(db.session)
    return kept


def _ledger_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(EngagementCount))


def test_each_kind_of_move_moves_the_counts(ctx):
    manager = make_user("manager")
    a = make_engagement(manager, provider="Northwind ML")  # inserted by a flush
    b_id = make_engagement(manager, provider="Quanta Labs").id
    assert _counts() == ({"discovery": 2}, {"green": 2})

    a.state = "trial"  # a state changed by a flush (as a transition does)
    db.session.commit()
    assert _counts() == ({"discovery": 1, "trial": 1}, {"green": 2})

    # the effective health moved by the flush hook (an override)
    health.override_health(manager, b_id, "red", "Dispute", None)
    assert _counts() == ({"discovery": 1, "trial": 1}, {"green": 1, "red": 1})

    # the set-based refresh (no flush): an override that ended
    start = datetime.combine(clock.now().date() + timedelta(days=30), time(12), tzinfo=UTC)
    health.override_health(manager, a.id, "amber", "Late data", start + timedelta(hours=1))
    assert _counts()[1] == {"amber": 1, "red": 1}
    health.refresh_due(now=start + timedelta(hours=2))
    assert _counts()[1] == {"green": 1, "red": 1}

    a = db.session.get(Engagement, a.id)
    a.closed_at = clock.now()  # closed: still counted by state, no longer by health
    db.session.commit()
    assert _counts() == ({"discovery": 1, "trial": 1}, {"red": 1})

    db.session.delete(db.session.get(Engagement, b_id))  # deleted
    db.session.commit()
    assert _counts() == ({"trial": 1}, {})


def test_a_move_writes_one_row_per_key_it_changes_and_a_non_move_none(ctx):
    manager = make_user("manager")
    engagement = make_engagement(manager)
    before = _ledger_rows()
    engagement.title = "Renamed"  # no key column: nothing to count
    db.session.commit()
    assert _ledger_rows() == before
    health.override_health(manager, engagement.id, "red", "Dispute", None)
    assert _ledger_rows() == before + 2  # green -1, red +1


def test_fold_leaves_one_row_per_key_and_every_count_as_it_was(ctx):
    manager = make_user("manager")
    ids = [make_engagement(manager).id for _ in range(3)]
    for engagement_id, colour in zip(ids, ["red", "amber", "red"], strict=True):
        health.override_health(manager, engagement_id, colour, "Dispute", None)
    health.override_health(manager, ids[0], None, "", None)
    rows, before = _ledger_rows(), _counts()

    removed = engagement_counts.fold()

    assert _counts() == before
    keys = db.session.execute(select(EngagementCount.state, EngagementCount.live_health)).all()
    assert len(keys) == len(set(keys)) == rows - removed
    assert db.session.scalar(select(func.min(func.abs(EngagementCount.n)))) > 0


def test_the_tick_folds_the_ledger_once_it_outgrows_its_keys(ctx):
    manager = make_user("manager")
    engagement_id = make_engagement(manager).id
    pending = select(engagement_counts.pending(None, None))
    while _ledger_rows() <= engagement_counts.FOLD_AT:
        assert db.session.scalar(pending) is False
        for colour in ("red", None):  # each flip writes two rows
            health.override_health(manager, engagement_id, colour, "Flip", None)
    assert db.session.scalar(pending) is True
    before = _counts()

    results = run_tick(only="local")

    assert results["counts"] > engagement_counts.FOLD_AT - 5
    assert _ledger_rows() <= 2 and _counts() == before


@pytest.mark.postgres
def test_writers_moving_between_the_same_keys_do_not_wait_for_each_other(pg_app):
    """A writer that has moved an engagement from green to red and not yet committed does
    not hold up one moving another from red to green, nor the fold (a counter row each
    would make the second wait for the first's commit)."""
    with pg_app.app_context():
        manager = make_user("manager")
        first, second = (make_engagement(manager).id for _ in range(2))
        health.override_health(manager, second, "red", "Dispute", None)
        manager_id = manager.id
    with pg_app.app_context():  # writer 1: its own session and connection
        engagement = db.session.get(Engagement, first)
        engagement.health_override, engagement.health_override_note = "red", "Pending"
        db.session.flush()  # its ledger rows written, its transaction open
        with pg_app.app_context():  # writer 2 and the fold, while writer 1 waits
            db.session.execute(text("SET lock_timeout = '2s'"))
            actor = db.session.get(User, manager_id)
            health.override_health(actor, second, None, "", None)
            engagement_counts.fold()
            assert engagement_counts.counts()[1] == {"green": 2}  # writer 1 not yet seen
        db.session.commit()
        assert _counts()[1] == {"green": 1, "red": 1}
