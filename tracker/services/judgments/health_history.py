"""Health over time: the one writer of `health_change` rows, and the strip's days read back.

Every writer of the cached effective health on the engagement row records here, in the
same transaction, only when the value actually changes: the ORM path (any service whose
flush moves `effective_health`, through the mapper hook in models.engagement) by
`record_after_flush`, and the set-based refresh (`health.store_health`) by calling
`record_changes` with its rows. Both end in one INSERT … executemany. Why: docs/adr/0170.

Each row's end (`valid_until`) is written here too, in the same transaction: a new row ends
the engagement's row in force (one UPDATE … executemany before the INSERT), a closing ends
it at the closing instant, and a row of an already closed engagement is born ended. So the
portfolio counts health at an instant from two index ranges (docs/adr/0234).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import bindparam, func, insert, inspect, select, update

from tracker.core import clock
from tracker.extensions import db
from tracker.models import Engagement, HealthChange

STRIP_DAYS = 90
UNKNOWN = "unknown"  # no record yet: before the engagement existed or before history began
INSERT = insert(HealthChange.__table__)
_TABLE = HealthChange.__table__
END_OPEN_ROW = (
    update(_TABLE)
    .where(_TABLE.c.engagement_id == bindparam("e_id"), _TABLE.c.valid_until.is_(None))
    .values(valid_until=bindparam("until"))
)


def change_row(engagement_id: int, effective: str, health: str, at: datetime) -> dict:
    """One history row, as `record_changes` takes it."""
    return {
        "engagement_id": engagement_id,
        "changed_at": at,
        "effective_health": str(effective),
        "health": str(health),
    }


def record_changes(
    session,
    rows: Iterable[dict],
    closed_at: Mapping[int, datetime] | None = None,
    fresh: Collection[int] = (),
) -> int:
    """Insert these history rows with one executemany (no commit); returns how many.

    Before that, one UPDATE … executemany ends each named engagement's row in force: at
    its first new row's instant, or at its closing if that is earlier. `closed_at` gives
    the closing instant of the engagements here that are closed (one closing now with no
    new row only has its row in force ended); `fresh` the ids that have no row yet (new
    engagements: nothing to end). Each new row ends at the engagement's next new row or its
    closing, whichever is first (never before its own instant), else stays open (NULL).
    """
    closed_at = closed_at or {}
    ordered = sorted(rows, key=lambda row: (row["engagement_id"], row["changed_at"]))
    written, ends = [], {}
    for i, row in enumerate(ordered):
        engagement_id = row["engagement_id"]
        closed = closed_at.get(engagement_id)
        following = ordered[i + 1] if i + 1 < len(ordered) else None
        same = following is not None and following["engagement_id"] == engagement_id
        until = following["changed_at"] if same else None
        if closed is not None:  # nothing holds past the closing
            until = max(row["changed_at"], min(until, closed) if until else closed)
        written.append({**row, "valid_until": until})
        if engagement_id not in ends:
            first = row["changed_at"]
            ends[engagement_id] = min(first, closed) if closed is not None else first
    for engagement_id, closed in closed_at.items():
        ends.setdefault(engagement_id, closed)
    open_rows = [{"e_id": e, "until": at} for e, at in sorted(ends.items()) if e not in fresh]
    if open_rows:
        session.execute(END_OPEN_ROW, open_rows)
    if written:
        session.execute(INSERT, written)
    return len(written)


def record_after_flush(session, flush_context) -> None:
    """After a flush: a row for each new engagement, and for each whose effective health
    the flush changed (the mapper hook has set it before the UPDATE); the row in force of
    each engagement the flush closed ends at its closing. Session listener."""
    now = clock.now()
    rows, closed, fresh = [], {}, set()
    for engagement in (*session.new, *session.dirty):
        if not isinstance(engagement, Engagement):
            continue
        changed = _effective_changed(engagement)
        if changed:
            rows.append(
                change_row(engagement.id, engagement.effective_health, engagement.health, now)
            )
        if engagement.closed_at is not None and (changed or _closed_now(engagement)):
            closed[engagement.id] = engagement.closed_at
        if engagement in session.new:
            fresh.add(engagement.id)
    record_changes(session, rows, closed, fresh)


def _closed_now(engagement: Engagement) -> bool:
    """The flush set the closing instant (engagements are never reopened)."""
    state = inspect(engagement)
    if state.deleted or state.was_deleted:
        return False
    return bool(state.attrs.closed_at.history.added)


def _effective_changed(engagement: Engagement) -> bool:
    state = inspect(engagement)
    if state.deleted or state.was_deleted:
        return False
    history = state.attrs.effective_health.history
    if not history.added:
        return False  # set to the value it had (the hook sets it on every update)
    return not history.deleted or history.deleted[0] != history.added[0]


@dataclass(frozen=True)
class Segment:
    """Consecutive days with one effective health: from `start`, `days` long."""

    health: str
    start: date
    days: int

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.days - 1)


@dataclass(frozen=True)
class HealthStrip:
    """The last STRIP_DAYS days, oldest first, as run-length segments, and their totals."""

    first: date
    last: date
    segments: tuple[Segment, ...]

    @property
    def totals(self) -> dict[str, int]:
        """Days per health, in the order first seen (green/amber/red/unknown)."""
        found: dict[str, int] = {}
        for segment in self.segments:
            found[segment.health] = found.get(segment.health, 0) + segment.days
        return found

    @property
    def today(self) -> str:
        return self.segments[-1].health


def began(engagement: Engagement) -> date:
    """The engagement's first day: its creation, or its discovery or trial start when
    either came before it (an engagement recorded after it began runs from then)."""
    created = engagement.created_at.date() if engagement.created_at else clock.now().date()
    starts = (engagement.discovery_start, engagement.trial_start)
    return min([created, *(day for day in starts if day is not None)])


def health_strip(engagement: Engagement, now: datetime | None = None) -> HealthStrip:
    """The effective health in force on each of the last 90 days (one query).

    A day shows the value in force at its end; the last day is today and shows what the
    page shows now (`Engagement.health_at`, a live override included, even before the
    scheduler has caught an expiry up). A closed engagement's strip ends on its closing day;
    a young one's starts when it began (`began`), not with days before it existed.
    """
    now = now or clock.now()
    closed = engagement.closed_at
    last = closed.date() if closed is not None else now.date()
    first = min(max(last - timedelta(days=STRIP_DAYS - 1), began(engagement)), last)
    changes = _changes_since(engagement.id, first, last)
    days = _day_values(changes, first, last)
    if closed is None:
        days[-1] = engagement.health_at(now)
    return HealthStrip(first, last, _runs(days, first))


def _changes_since(engagement_id: int, first: date, last: date) -> list[tuple[date, str]]:
    """(day, effective health) of each change from the one in force on `first` on."""
    start = datetime.combine(first, time.min, tzinfo=UTC)
    rows = db.session.execute(_CHANGES_SINCE, {"engagement_id": engagement_id, "start": start})
    return [(at.date(), health) for at, health in rows if at.date() <= last]


def _changes_since_statement():
    """`_changes_since`'s statement, its engagement and start bound parameters: built once,
    it keeps its cache key (issue 29, ADR 0258)."""
    table = HealthChange.__table__
    engagement_id = bindparam("engagement_id")
    start = bindparam("start", type_=table.c.changed_at.type)
    before = (
        select(func.max(table.c.changed_at))
        .where(table.c.engagement_id == engagement_id, table.c.changed_at < start)
        .scalar_subquery()
    )
    return (
        select(table.c.changed_at, table.c.effective_health)
        .where(
            table.c.engagement_id == engagement_id,
            table.c.changed_at >= func.coalesce(before, start),
        )
        .order_by(table.c.changed_at, table.c.id)
    )


_CHANGES_SINCE = _changes_since_statement()


def _day_values(changes: list[tuple[date, str]], first: date, last: date) -> list[str]:
    """The value in force at the end of each day, UNKNOWN before the first record."""
    values, current, index = [], UNKNOWN, 0
    day = first
    while day <= last:
        while index < len(changes) and changes[index][0] <= day:
            current = changes[index][1]
            index += 1
        values.append(current)
        day += timedelta(days=1)
    return values


def _runs(days: list[str], first: date) -> tuple[Segment, ...]:
    segments: list[Segment] = []
    for offset, health in enumerate(days):
        if segments and segments[-1].health == health:
            last = segments[-1]
            segments[-1] = Segment(health, last.start, last.days + 1)
        else:
            segments.append(Segment(health, first + timedelta(days=offset), 1))
    return tuple(segments)
