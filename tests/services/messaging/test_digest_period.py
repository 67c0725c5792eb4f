"""Period keys and send instants in the subscriber's own time zone, across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from tracker.services.messaging.digest_period import (
    MAX_SKIPPED_PERIODS,
    Schedule,
    latest_period,
    next_send_at,
    periods_due,
)

HELSINKI_DAILY = Schedule(frequency="daily", send_time=time(8), timezone="Europe/Helsinki")


def test_daily_send_instant_follows_local_time_across_spring_forward():
    before = latest_period(HELSINKI_DAILY, datetime(2026, 3, 28, 12, tzinfo=UTC))
    after = latest_period(HELSINKI_DAILY, datetime(2026, 3, 29, 12, tzinfo=UTC))
    assert (before.key, before.send_at) == ("2026-03-28", datetime(2026, 3, 28, 6, tzinfo=UTC))
    assert (after.key, after.send_at) == ("2026-03-29", datetime(2026, 3, 29, 5, tzinfo=UTC))


def _keys_sent_hourly(schedule: Schedule, start: datetime, days: int) -> list[str]:
    """Walk a clock hour by hour and collect the distinct due keys, like a tick would."""
    keys: list[str] = []
    instant = start
    while instant < start + timedelta(days=days):
        key = latest_period(schedule, instant).key
        if not keys or keys[-1] != key:
            keys.append(key)
        instant += timedelta(minutes=30)
    return keys


def test_one_period_per_local_day_across_both_dst_changes():
    for start in (datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 10, 23, tzinfo=UTC)):
        keys = _keys_sent_hourly(HELSINKI_DAILY, start, 5)
        assert len(keys) == len(set(keys))
        dates = [datetime.fromisoformat(k).date() for k in keys]
        assert all(b - a == timedelta(days=1) for a, b in zip(dates, dates[1:], strict=False))


def test_send_time_inside_the_spring_gap_still_gives_one_instant():
    schedule = Schedule(frequency="daily", send_time=time(3, 30), timezone="Europe/Helsinki")
    keys = _keys_sent_hourly(schedule, datetime(2026, 3, 27, tzinfo=UTC), 4)
    assert "2026-03-29" in keys and len(keys) == len(set(keys))
    ambiguous = Schedule(frequency="daily", send_time=time(3, 30), timezone="Europe/Helsinki")
    keys = _keys_sent_hourly(ambiguous, datetime(2026, 10, 23, tzinfo=UTC), 4)
    assert keys.count("2026-10-25") == 1


def test_weekly_key_is_the_iso_week_of_the_local_send_date():
    schedule = Schedule("weekly", time(9), "Europe/Helsinki", weekday=0)
    period = latest_period(schedule, datetime(2026, 11, 22, 12, tzinfo=UTC))  # a Sunday
    assert period.key == "2026-W47"
    assert period.send_at == datetime(2026, 11, 16, 7, tzinfo=UTC)
    assert next_send_at(schedule, period.send_at) == datetime(2026, 11, 23, 7, tzinfo=UTC)


def test_weekly_across_the_autumn_change_keeps_one_key_per_week():
    schedule = Schedule("weekly", time(8), "Europe/Helsinki", weekday=6)
    keys = _keys_sent_hourly(schedule, datetime(2026, 10, 10, tzinfo=UTC), 28)
    # Sundays 4, 11, 18, 25 (the change) Oct and 1 Nov: one key each
    assert keys == ["2026-W40", "2026-W41", "2026-W42", "2026-W43", "2026-W44"]


def test_periods_due_lists_every_missed_period_oldest_first():
    due_from = datetime(2026, 5, 1, 5, tzinfo=UTC)
    periods = periods_due(HELSINKI_DAILY, due_from, datetime(2026, 5, 3, 12, tzinfo=UTC))
    assert [p.key for p in periods] == ["2026-05-01", "2026-05-02", "2026-05-03"]


def test_periods_due_is_bounded_after_a_very_long_outage():
    due_from = datetime(2025, 1, 1, tzinfo=UTC)
    periods = periods_due(HELSINKI_DAILY, due_from, datetime(2026, 5, 3, 12, tzinfo=UTC))
    assert len(periods) == MAX_SKIPPED_PERIODS + 1
    assert periods[-1].key == "2026-05-03"
