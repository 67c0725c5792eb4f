"""Engagements per state and live engagements per effective health, kept as they change.

The dashboard's badges (and its total when no filter narrows the list) are these counts.
Counted with a GROUP BY over every engagement they cost a time that grows with the
organisation, and on PostgreSQL more again while the engagement table waits for its
vacuum (index-only scans that must visit the heap). So every writer that moves an
engagement from one key (state, live health) to another records the move here, in its
own transaction, and the badges read a few rows whatever the organisation's size.

The table is a ledger (models.EngagementCount): a move is a -1 row for the key left and a
+1 row for the key entered, INSERTed, never UPDATEd, so two transactions moving
engagements never wait for each other's row locks and cannot deadlock on a counter. A
key's count is the sum of its rows; `fold`, a scheduler step, replaces the rows by one per
key now and then. Where moves are recorded (docs/adr/0259):
- every flush, for the engagements it inserted, changed or deleted (`record_after_flush`,
  a step of services/derived.py's pipeline; the three columns keep their old value in the
  flush's history, `active_history` on the model);
- the set-based health refresh, which is no flush (`health.store_health` calls
  `record_moves` with its changes);
- a bulk load or a migration that writes engagements without either counts them all
  again (`recount`), as migration 0021 does for the rows that exist.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, insert, inspect, literal, select, text

from tracker.extensions import db
from tracker.models import Engagement, EngagementCount
from tracker.services.core.transactions import commit_and_derive

Key = tuple[str, str | None]  # (state, effective health while live, else None)
Move = tuple[Key | None, Key | None]  # (key left, key entered); None: no engagement

_TABLE = EngagementCount.__table__
_INSERT = insert(_TABLE)
_SUMS = select(_TABLE.c.state, _TABLE.c.live_health, func.sum(_TABLE.c.n)).group_by(
    _TABLE.c.state, _TABLE.c.live_health
)
# The scheduler folds the ledger once it holds more rows than this (a few dozen keys).
FOLD_AT = 200


def key_of(state: str, effective_health: str | None, closed_at: datetime | None) -> Key:
    """The key an engagement is counted under."""
    return state, (effective_health if closed_at is None else None)


def counts() -> tuple[dict[str, int], dict[str, int]]:
    """(engagements per state, live engagements per effective health): one statement
    over the ledger, a few rows whatever the number of engagements. Keys with no
    engagement are left out."""
    return _split(_summed(db.session.execute(_SUMS)))


def _summed(rows: Iterable[tuple[str, str | None, int]]) -> Counter[Key]:
    """(state, live health, n) rows added up per key."""
    sums: Counter[Key] = Counter()
    for state, health, n in rows:
        sums[(state, health)] += n
    return sums


def _split(per_key: Counter[Key]) -> tuple[dict[str, int], dict[str, int]]:
    """Counts per key as (per state, live ones per health), leaving out the zeros."""
    by_state: Counter[str] = Counter()
    by_health: Counter[str] = Counter()
    for (state, health), n in per_key.items():
        by_state[state] += n
        if health is not None:
            by_health[health] += n
    return (
        {state: n for state, n in by_state.items() if n},
        {health: n for health, n in by_health.items() if n},
    )


def record_moves(session, moves: Iterable[Move]) -> int:
    """INSERT the net change of these moves, one row per key that changed (no commit);
    returns how many rows were written."""
    net: Counter[Key] = Counter()
    for left, entered in moves:
        if left == entered:
            continue
        if left is not None:
            net[left] -= 1
        if entered is not None:
            net[entered] += 1
    rows = _rows(net)
    if rows:
        session.execute(_INSERT, rows)
    return len(rows)


def _rows(net: Counter[Key]) -> list[dict]:
    """The ledger rows of these net counts, in key order, none for a key whose net is 0."""
    ordered = sorted(net.items(), key=lambda item: (item[0][0], item[0][1] or ""))
    return [{"state": s, "live_health": h, "n": n} for (s, h), n in ordered if n]


def record_after_flush(session, flush_context) -> None:
    """After a flush: the moves of the engagements it inserted, changed or deleted.
    Session listener (services/derived.py)."""
    moves = []
    for engagement in (*session.new, *session.dirty, *session.deleted):
        if isinstance(engagement, Engagement):
            moves.append(_move(engagement, session))
    record_moves(session, moves)


def _move(engagement: Engagement, session) -> Move:
    state = inspect(engagement)
    if engagement in session.new:
        return None, _key_now(engagement)
    before = key_of(*(_before(state, name) for name in _KEY_COLUMNS))
    if engagement in session.deleted:
        return before, None
    return before, _key_now(engagement)


_KEY_COLUMNS = ("state", "effective_health", "closed_at")


def _key_now(engagement: Engagement) -> Key:
    return key_of(engagement.state, engagement.effective_health, engagement.closed_at)


def _before(state, name: str):
    """A column's value before this flush: what it replaced, else what it is."""
    history = state.attrs[name].history
    if history.deleted:
        return history.deleted[0]
    return history.unchanged[0] if history.unchanged else state.attrs[name].value


def pending(now, midnight):
    """SQL truth value: the ledger has grown past FOLD_AT rows (reads at most that many)."""
    return select(literal(1)).select_from(_TABLE).limit(1).offset(FOLD_AT).exists()


def fold(now: datetime | None = None) -> int:
    """The scheduler step: replace the ledger's rows by one per key (their sum), in one
    transaction; returns how many rows fewer there are. Commits.

    The DELETE takes the rows it sees; a writer's rows that commit meanwhile are not
    among them and stay, so every count is the same before and after, and a reader sees
    one or the other (the step commits once)."""
    taken = db.session.execute(
        delete(_TABLE).returning(_TABLE.c.state, _TABLE.c.live_health, _TABLE.c.n)
    ).all()
    rows = _rows(_summed(taken))
    if rows:
        db.session.execute(_INSERT, rows)
    commit_and_derive()
    return len(taken) - len(rows)


def recount(session) -> None:
    """Count every engagement again and make that the ledger (no commit): for a bulk load
    that writes engagements with neither a flush nor `record_moves`, and for an operator
    whose rows were edited by hand (`flask counts recount`).

    Safe beside writers: the ledger is emptied first, which on PostgreSQL waits, under an
    EXCLUSIVE lock, for every transaction that has added rows to it and holds off the
    next until this one commits (and on SQLite takes the write lock); only then are the
    engagements counted, so each writer's move is either in the count or still to come.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE engagement_count IN EXCLUSIVE MODE"))
    session.execute(delete(_TABLE))
    rows = _rows(_group_by_keys(session))
    if rows:
        session.execute(_INSERT, rows)


def recount_now() -> tuple[dict[str, int], dict[str, int]]:
    """`recount` as its own unit of work; returns the counts it stored. Commits."""
    recount(db.session)
    commit_and_derive()
    return counts()


def kept_and_afresh() -> tuple[tuple[dict, dict], tuple[dict, dict]]:
    """The kept counts and the rows' own, read in one transaction (`flask counts check`).

    On PostgreSQL the ledger is first locked in SHARE mode, which waits for the writers
    that have added rows and holds off the next, so the two reads agree unless the
    counts have drifted."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("LOCK TABLE engagement_count IN SHARE MODE"))
    try:
        return counts(), counted_afresh(db.session)
    finally:
        db.session.rollback()


def counted_afresh(session) -> tuple[dict[str, int], dict[str, int]]:
    """What `counts` must say, counted from the engagement rows themselves (a GROUP BY
    over every engagement): for checks and tests, never for a page."""
    return _split(_group_by_keys(session))


def _group_by_keys(session) -> Counter[Key]:
    live = Engagement.closed_at.is_(None)
    grouped = select(Engagement.state, Engagement.effective_health, live, func.count()).group_by(
        Engagement.state, Engagement.effective_health, live
    )
    rows = session.execute(grouped)
    return _summed((state, health if is_live else None, n) for state, health, is_live, n in rows)
