"""The one due-date rule: not before the engagement started, not more than three years after."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

from workflows.due_dates import add_years, due_date_problem, engagement_start

CREATED = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


def test_the_start_is_discovery_else_the_day_created():
    assert engagement_start(SimpleNamespace(discovery_start=None, created_at=CREATED)) == date(
        2026, 3, 10
    )
    started = SimpleNamespace(discovery_start=date(2026, 2, 1), created_at=CREATED)
    assert engagement_start(started) == date(2026, 2, 1)


def test_a_due_date_before_the_start_or_past_three_years_is_refused_naming_the_bound():
    engagement = SimpleNamespace(discovery_start=date(2026, 2, 1), created_at=CREATED)
    assert due_date_problem(engagement, date(2026, 2, 1)) is None
    assert due_date_problem(engagement, date(2029, 2, 1)) is None
    assert due_date_problem(engagement, date(2026, 1, 31)) == (
        "The due date is before the engagement started (2026-02-01)."
    )
    assert due_date_problem(engagement, date(2029, 2, 2)) == (
        "The due date is more than 3 years after the engagement started (latest 2029-02-01)."
    )


def test_add_years_keeps_the_day_and_turns_29_february_into_28():
    assert add_years(date(2026, 3, 10), 3) == date(2029, 3, 10)
    assert add_years(date(2028, 2, 29), 1) == date(2029, 2, 28)
