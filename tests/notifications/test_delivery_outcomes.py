"""The outcomes' write (ADR 0205, 0254): on PostgreSQL one UPDATE ... FROM (VALUES ...)
written by hand for each group size; it must change the rows exactly as the Core UPDATE
(`_outcomes_statement`, what SQLite runs) does, for every kind of outcome, and touch no
row another worker holds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tracker.core import clock
from tracker.extensions import db
from tracker.models import OutboxEmail
from tracker.notifications import delivery
from tracker.services.messaging.outbox import enqueue

pytestmark = pytest.mark.postgres  # the hand-written statement runs there only

COLUMNS = ("status", "attempts", "last_reply", "sent_at", "failed_at", "next_attempt_at")


def _queue(prefix: str, count: int, due) -> list[int]:
    rows = [enqueue(f"{prefix}:{n}", f"u{n}@example.com", f"S {n}", "body") for n in range(count)]
    db.session.commit()
    ids = [row.id for row in rows]
    db.session.execute(
        OutboxEmail.__table__.update()
        .where(OutboxEmail.id.in_(ids))
        .values(claimed_by="me", lease_until=due + timedelta(minutes=5), next_attempt_at=due)
    )
    # One row is another worker's: no outcome of ours may touch it.
    db.session.execute(
        OutboxEmail.__table__.update().where(OutboxEmail.id == ids[-1]).values(claimed_by="other")
    )
    db.session.commit()
    return ids


def _outcomes(ids: list[int], at) -> list[dict]:
    record = delivery.Recorder("me")
    record.sent(ids[0], "250 accepted", at)
    record.failed(ids[1], "550 no such user", at)
    record.later(ids[2], 1, "451 try again", at, gave_up=False)
    record.later(ids[3], 8, "421 closing", at, gave_up=True)
    record.sent(ids[4], "250 accepted", at)  # another worker's row
    return record.waiting


def _state(ids: list[int]) -> list[tuple]:
    db.session.expire_all()
    rows = db.session.scalars(select(OutboxEmail).where(OutboxEmail.id.in_(ids)))
    by_id = {row.id: row for row in rows}
    return [(*(getattr(by_id[i], c) for c in COLUMNS), by_id[i].lease_until is None) for i in ids]


def test_each_kind_of_outcome_is_written_as_the_core_update_writes_it(app):
    with app.app_context():
        at = clock.now()
        ours, theirs = _queue("a", 5, at), _queue("b", 5, at)
        before = _state(ours)
        with db.engine.connect() as conn:  # what SQLite runs, on either database
            conn.execute(
                delivery._outcomes_statement(),
                [dict(row, b_worker="me") for row in _outcomes(theirs, at)],
            )
            conn.commit()
        conn = delivery._outcomes_connection()
        try:
            delivery._write_outcomes(_outcomes(ours, at), "me", conn)
        finally:
            conn.close()
        got, expected = _state(ours), _state(theirs)
    assert got == expected
    assert got[-1] == before[-1]  # the other worker's row is as it was
    assert [row[0] for row in got] == ["sent", "failed", "pending", "failed", "pending"]
    assert got[2][5] == at + delivery.backoff(1)  # retried after the back-off
    assert [row[1] for row in got[:4]] == [1, 1, 1, 1]


def test_every_group_size_has_its_statement():
    # One statement text per size (so psycopg prepares each once), each with one row
    # of six values per outcome and the worker last.
    for size in range(1, delivery.Recorder.GROUP + 1):
        sql = delivery._outcomes_values_sql(size)
        assert sql.count("%s") == 6 * size + 1
        assert sql is delivery._outcomes_values_sql(size)
