"""The health history: a row whenever the cached effective health really changes, by every
writer, in bulk where the writer is bulk; and the strip read back in one query."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, select, update

from tests.factories import make_engagement, make_user
from tests.support.scheduler import frozen, trial_engagement
from tracker.core import clock
from tracker.extensions import db
from tracker.models import ChecklistItem, Engagement, HealthChange
from tracker.services.delivery import checklists
from tracker.services.judgments import health
from tracker.services.judgments.health_history import (
    STRIP_DAYS,
    UNKNOWN,
    Segment,
    health_strip,
)
from tracker.services.staffing.engagements import update_engagement

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _history(engagement_id: int) -> list[tuple[str, str]]:
    rows = db.session.execute(
        select(HealthChange.effective_health, HealthChange.health)
        .where(HealthChange.engagement_id == engagement_id)
        .order_by(HealthChange.changed_at, HealthChange.id)
    )
    return [tuple(r) for r in rows]


class _Statements:
    """Counts the statements sent, and the INSERTs into health_change among them."""

    def __init__(self):
        self.all, self.history_inserts = 0, []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        self.all += 1
        if statement.lstrip().upper().startswith("INSERT INTO HEALTH_CHANGE"):
            rows = len(parameters) if executemany else 1
            self.history_inserts.append(rows)


@pytest.fixture
def statements(app):
    counter = _Statements()
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", counter)
    yield counter
    event.remove(engine, "before_cursor_execute", counter)


def _overdue_item(engagement: Engagement) -> ChecklistItem:
    return db.session.scalars(
        select(ChecklistItem).where(ChecklistItem.engagement_id == engagement.id)
    ).first()


def test_a_new_engagement_starts_its_history_with_one_row(ctx):
    engagement = make_engagement(make_user("manager"))
    assert _history(engagement.id) == [("green", "green")]


def test_a_change_that_leaves_health_alone_records_nothing(ctx):
    manager = make_user("manager")
    engagement = make_engagement(manager)
    update_engagement(manager, engagement.id, {"title": "Renamed"})
    health.refresh_health([engagement.id])
    db.session.commit()
    assert _history(engagement.id) == [("green", "green")]


def test_an_override_and_its_removal_are_each_one_row(ctx):
    manager = make_user("manager")
    engagement = make_engagement(manager)
    health.override_health(manager, engagement.id, "red", "Budget at risk", None)
    health.override_health(manager, engagement.id, None, "", None)
    assert _history(engagement.id) == [("green", "green"), ("red", "green"), ("green", "green")]


def test_a_checklist_change_that_turns_health_amber_is_recorded_with_the_data_health(ctx):
    manager = make_user("manager")
    engagement = make_engagement(manager, discovery_start=date.today() - timedelta(days=30))
    item = _overdue_item(engagement)
    checklists.update_item(manager, item.id, {"due_date": date.today() - timedelta(days=3)})
    assert _history(engagement.id)[-1] == ("amber", "amber")


@pytest.mark.raw_engagement_writes  # the cached health written behind the app's back
def test_store_health_records_only_real_changes_in_one_insert(app, ctx, statements):
    today = date.today()
    engagements = [trial_engagement(today, trial_day=10, provider=f"P{i}")[0] for i in range(6)]
    health.store_health([e.id for e in engagements], datetime.now(UTC))  # all amber now
    db.session.execute(  # half of them: the cache says red, the data still says amber
        Engagement.__table__.update()
        .where(Engagement.id.in_([e.id for e in engagements[:3]]))
        .values(effective_health="red", health="red", health_computed_at=None)
    )
    db.session.commit()
    before = {e.id: len(_history(e.id)) for e in engagements}
    statements.history_inserts.clear()
    health.store_health([e.id for e in engagements], datetime.now(UTC))
    db.session.commit()
    changed = [e.id for e in engagements if len(_history(e.id)) > before[e.id]]
    assert sorted(changed) == sorted(e.id for e in engagements[:3])
    assert statements.history_inserts == [3]  # one executemany for the three changes
    for engagement_id in changed:
        effective = db.session.scalar(
            select(Engagement.effective_health).where(Engagement.id == engagement_id)
        )
        assert _history(engagement_id)[-1][0] == effective


def test_refresh_all_records_many_changes_with_one_insert_per_flush(app, ctx, statements):
    manager = make_user("manager")
    engagements = [make_engagement(manager) for _ in range(5)]
    items = [_overdue_item(engagement) for engagement in engagements]
    statements.history_inserts.clear()
    for item in items:
        item.due_date = date.today() - timedelta(days=3)
    db.session.commit()  # the unit of work re-judges all five before its commit
    assert statements.history_inserts == [5]
    assert all(_history(e.id)[-1] == ("amber", "amber") for e in engagements)
    # Facts that move behind the unit of work (as days passing do) wait for the refresh.
    db.session.execute(
        update(ChecklistItem.__table__)
        .where(ChecklistItem.__table__.c.id.in_([item.id for item in items]))
        .values(due_date=None)
    )
    db.session.commit()
    statements.history_inserts.clear()
    health.refresh_all()
    assert statements.history_inserts == [5]
    assert all(_history(e.id)[-1] == ("green", "green") for e in engagements)


def test_a_young_engagements_strip_starts_on_its_first_day_and_ends_on_today(app, ctx):
    """No days before the engagement existed: 21 days, not 69 unknown ones before them."""
    frozen(app, NOW - timedelta(days=20))
    manager = make_user("manager")
    engagement = make_engagement(manager)
    frozen(app, NOW - timedelta(days=5))
    health.override_health(manager, engagement.id, "amber", "Vendor slow", None)
    frozen(app, NOW)
    strip = health_strip(engagement)
    assert strip.last == NOW.date() and strip.first == (NOW - timedelta(days=20)).date()
    assert [(s.health, s.days) for s in strip.segments] == [("green", 15), ("amber", 6)]
    assert strip.totals == {"green": 15, "amber": 6}


def test_the_strip_is_unknown_from_discovery_until_the_first_record(app, ctx):
    """Recorded after its discovery began: the strip starts at discovery, unknown until
    the first record; an old engagement's strip is the last 90 days."""
    frozen(app, NOW - timedelta(days=20))
    manager = make_user("manager")
    engagement = make_engagement(manager)
    engagement.discovery_start = (NOW - timedelta(days=30)).date()
    db.session.commit()
    frozen(app, NOW)
    strip = health_strip(engagement)
    assert strip.first == (NOW - timedelta(days=30)).date()
    assert [(s.health, s.days) for s in strip.segments] == [(UNKNOWN, 10), ("green", 21)]
    engagement.discovery_start = (NOW - timedelta(days=400)).date()
    db.session.commit()
    strip = health_strip(engagement)
    assert sum(s.days for s in strip.segments) == STRIP_DAYS
    assert strip.first == NOW.date() - timedelta(days=STRIP_DAYS - 1)
    assert strip.segments[0] == Segment(UNKNOWN, strip.first, 69)


def test_the_strip_starts_from_the_value_in_force_before_its_window(app, ctx):
    frozen(app, NOW - timedelta(days=200))
    manager = make_user("manager")
    engagement = make_engagement(manager)
    health.override_health(manager, engagement.id, "red", "Long story", None)
    frozen(app, NOW)
    strip = health_strip(engagement)
    assert [(s.health, s.days) for s in strip.segments] == [("red", 90)]


def test_the_last_day_is_what_the_page_shows_even_before_an_expiry_is_caught_up(app, ctx):
    frozen(app, NOW - timedelta(days=3))
    manager = make_user("manager")
    engagement = make_engagement(manager)
    until = NOW - timedelta(hours=1)
    health.override_health(manager, engagement.id, "red", "Until the demo", until)
    frozen(app, NOW)  # expired an hour ago; the scheduler has not run: the cache says red
    assert db.session.scalar(select(Engagement.effective_health)) == "red"
    strip = health_strip(engagement)
    assert strip.today == engagement.health_at() == "green"


def test_the_strip_is_read_with_one_query_however_long_the_history(app, ctx, statements):
    frozen(app, NOW - timedelta(days=120))
    manager = make_user("manager")
    engagement = make_engagement(manager)
    for day in range(120):
        frozen(app, NOW - timedelta(days=120 - day))
        health.override_health(manager, engagement.id, ("red", "amber")[day % 2], "Flip", None)
    frozen(app, NOW)
    db.session.refresh(engagement)  # the page has the row loaded already
    statements.all = 0
    strip = health_strip(engagement)
    assert statements.all == 1
    assert len(strip.segments) == 89  # a run a day: every day up to yesterday flipped


def test_a_closed_engagement_strip_ends_on_its_closing_day_with_its_last_record(app, ctx):
    frozen(app, NOW - timedelta(days=40))
    manager = make_user("manager")
    engagement = make_engagement(manager)
    health.override_health(manager, engagement.id, "amber", "Wrapping up", None)
    engagement.closed_at = NOW - timedelta(days=10)
    db.session.commit()
    frozen(app, NOW)
    strip = health_strip(engagement)
    assert strip.last == (NOW - timedelta(days=10)).date()
    assert [(s.health, s.days) for s in strip.segments] == [("amber", 31)]  # its 31 days


def _ends_from_scratch(engagement_ids: list[int]) -> dict[int, datetime | None]:
    """Each row's end recomputed from the rows and the closings alone: the next row's
    instant or the closing, whichever is first, never before the row's own instant."""
    rows = db.session.execute(
        select(HealthChange.id, HealthChange.engagement_id, HealthChange.changed_at)
        .where(HealthChange.engagement_id.in_(engagement_ids))
        .order_by(HealthChange.engagement_id, HealthChange.changed_at, HealthChange.id)
    ).all()
    closed = dict(
        db.session.execute(
            select(Engagement.id, Engagement.closed_at).where(Engagement.id.in_(engagement_ids))
        ).all()
    )
    ends = {}
    for i, (row_id, engagement_id, at) in enumerate(rows):
        following = rows[i + 1] if i + 1 < len(rows) else None
        until = following[2] if following and following[1] == engagement_id else None
        closing = closed[engagement_id]
        if closing is not None:
            until = max(at, min(until, closing) if until else closing)
        ends[row_id] = until
    return ends


@pytest.mark.raw_engagement_writes  # the cached health written behind the app's back
def test_each_row_s_end_matches_a_recomputation_from_scratch_after_random_edits(app, ctx):
    """Overrides, set-based refreshes with a stale cache and closings, in a random order
    over several days: the stored `valid_until` of every row is what the rows and the
    closings say (docs/adr/0234)."""
    rng = random.Random(234)
    today = NOW.date()
    frozen(app, NOW - timedelta(days=30))
    manager = make_user("manager")
    engagements = [trial_engagement(today - timedelta(days=30), trial_day=5, provider=f"P{i}")[0]
                   for i in range(5)]  # fmt: skip
    ids = [e.id for e in engagements]
    for step in range(40):
        frozen(app, NOW - timedelta(days=30) + timedelta(hours=13 * step))
        live = [e for e in engagements if e.closed_at is None]
        if not live:
            break
        engagement = rng.choice(live)
        action = rng.choice(["override", "override", "clear", "stale", "close"])
        if action == "override":
            choice = rng.choice(["red", "amber", "green"])
            health.override_health(manager, engagement.id, choice, "Random edit", None)
        elif action == "clear":
            health.override_health(manager, engagement.id, None, "", None)
        elif action == "stale":  # the cache says red; the next refresh records the truth
            db.session.execute(
                Engagement.__table__.update()
                .where(Engagement.id == engagement.id)
                .values(effective_health="red", health="red")
            )
            db.session.commit()
            health.store_health([engagement.id], clock.now())
            db.session.commit()
        else:
            engagement.closed_at = clock.now()
            db.session.commit()
    stored = dict(
        db.session.execute(
            select(HealthChange.id, HealthChange.valid_until).where(
                HealthChange.engagement_id.in_(ids)
            )
        ).all()
    )
    assert len(stored) > 2 * len(ids)  # the edits really wrote history
    assert stored == _ends_from_scratch(ids)
    assert sum(1 for until in stored.values() if until is None) == sum(
        1 for e in engagements if e.closed_at is None
    )  # exactly one row in force per live engagement, none for a closed one
