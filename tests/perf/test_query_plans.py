"""The lists never read the engagement table row by row: every pass uses an index.

At 10,000 engagements a full scan of the wide engagement rows was what made the
dashboard miss its target (docs/benchmarks.md). Timings do not belong in tests,
but the plan does: SQLite's EXPLAIN QUERY PLAN says `SCAN engagement` for a table
scan, `SCAN … USING INDEX` for a full walk of an index with a row lookup per entry,
and `CORRELATED …` for a subquery run per row, whatever the number of rows. Each
statement a request sends is explained with its own parameters, on 200 generated
engagements with planner statistics. Pages are kept small (5 rows): when a page
covers most of a small table, SQLite rightly scans it.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, text

from tests.perf.helpers import grow_analysed, scale_user_email, token_for
from tracker.demo import scale_data
from tracker.extensions import db

SEED = 23
# A pass over every row that reads the wide rows: a table scan, or a full walk of an
# index that is not covering (a row lookup per entry). A pass over a covering index
# (counting, the filter choices) reads only the index and is fine. A correlated
# subquery runs once per engagement.
ROW_BY_ROW = re.compile(r"\bSCAN engagement\b(?! USING COVERING INDEX)|CORRELATED")


@pytest.fixture
def sqlite_only(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("EXPLAIN QUERY PLAN is SQLite's; PostgreSQL plans tiny tables differently")


def _statements(app, client, url: str, headers: dict) -> list[tuple[str, object]]:
    """Every statement (with parameters) the second GET of `url` sends."""
    client.get(url, headers=headers)
    sent: list[tuple[str, object]] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        if not executemany:
            sent.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert client.get(url, headers=headers).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return sent


def _plans_matching(app, statements, pattern: re.Pattern, *, mentioning: str = "") -> list[str]:
    """The SELECT statements (those naming `mentioning`) whose plan has a step `pattern` finds."""
    scans = []
    with app.app_context():
        connection = db.session.connection().connection.dbapi_connection
        for statement, parameters in statements:
            if mentioning not in statement or not statement.lstrip().upper().startswith("SELECT"):
                continue
            plan = connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
            steps = [row[-1] for row in plan]
            if any(pattern.search(step) for step in steps):
                scans.append(f"{statement[:160]}… → {steps}")
        db.session.remove()
    return scans


def _row_by_row(app, statements) -> list[str]:
    """The statements whose plan reads the engagement table row by row."""
    return _plans_matching(app, statements, ROW_BY_ROW, mentioning="engagement")


@pytest.fixture
def scaled(app, sqlite_only, seeded_copies):
    """200 scale engagements, analysed: generated once, then a copy (read-only tests)."""
    grow_analysed(app, seeded_copies, 200, SEED)


@pytest.mark.parametrize(
    "role, url",
    [
        ("manager", "/dashboard?per_page=5"),
        ("manager", "/dashboard?health=red&per_page=5"),
        ("manager", "/dashboard?state=trial&sort=-updated_at&per_page=5"),
        ("stakeholder", "/dashboard?per_page=5"),
        ("manager", "/api/v1/engagements?state=trial&per_page=5"),
        ("manager", "/api/v1/engagements?health=amber&per_page=5"),
        ("stakeholder", "/api/v1/engagements?per_page=5"),
    ],
)
def test_lists_never_read_the_engagement_table_row_by_row(app, client, auth, scaled, role, url):
    email = scale_user_email(app, role, SEED)
    if url.startswith("/api/"):
        headers = {"Authorization": f"Bearer {token_for(app, email)}"}
    else:
        assert auth.login(email, password=scale_data.PASSWORD).status_code == 302
        headers = {}
    statements = _statements(app, client, url, headers)
    assert any("FROM engagement" in statement for statement, _ in statements)
    assert _row_by_row(app, statements) == []


# Tables that grow with every engagement's history: a page reads its own rows of them
# by index. On an analysed file SQLite judged ix_measurement_supersedes_id useless (the
# column is nearly all NULL) and scanned every measurement per candidate inside NOT
# EXISTS; the ADRs' `superseded_by` load scanned every engagement's ADRs (no index).
HISTORY_SCAN = re.compile(r"\bSCAN (measurement|adr)\w*\b(?! USING COVERING INDEX)")


def _history_scans(app, statements) -> list[str]:
    return _plans_matching(app, statements, HISTORY_SCAN)


def test_the_engagement_page_never_scans_adrs(app, client, auth, scaled):
    with app.app_context():
        engagement_id = db.session.scalar(text("SELECT min(engagement_id) FROM adr"))
        db.session.remove()
    assert engagement_id is not None  # the generated engagements have ADRs
    email = scale_user_email(app, "manager", SEED)
    assert auth.login(email, password=scale_data.PASSWORD).status_code == 302
    statements = _statements(app, client, f"/engagements/{engagement_id}", {})
    assert any("FROM adr" in statement for statement, _ in statements)
    assert _history_scans(app, statements) == []


def test_the_latest_measurement_is_found_by_index_on_an_analysed_file(tmp_path):
    """Planner statistics where no measurement corrects another (supersedes_id all NULL):
    the latest point of each target still walks the indexes, never every measurement.
    A file of its own: the shared test database's statistics are not these."""
    from sqlalchemy import create_engine

    from tracker.models import Measurement, Milestone, MilestoneTarget, SuccessMetric
    from tracker.services.evidence import reads

    engine = create_engine(f"sqlite:///{tmp_path / 'plans.db'}")
    tables = [m.__table__ for m in (Milestone, MilestoneTarget, SuccessMetric, Measurement)]
    db.metadata.create_all(engine, tables=tables)
    now = "2026-01-01 00:00:00"
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA foreign_keys = OFF")  # no engagements here
        for metric in range(1, 41):
            connection.execute(
                text(
                    "INSERT INTO success_metric (id, engagement_id, name, kind, unit, direction,"
                    " source_note, created_at, updated_at, version)"
                    " VALUES (:m, :m, 'm', 'number', '', 'up', '', :now, :now, 1)"
                ),
                {"m": metric, "now": now},
            )
            rows = [
                {"e": metric, "m": metric, "v": day, "at": f"2026-01-{day:02d} 09:00:00",
                 "on": f"2026-01-{day:02d}", "now": now}
                for day in range(1, 21)
            ]  # fmt: skip
            connection.execute(
                text(
                    "INSERT INTO measurement (engagement_id, metric_id, value, measured_at,"
                    " measured_on, note, created_at) VALUES (:e, :m, :v, :at, :on, '', :now)"
                ),
                rows,
            )
        connection.execute(text("ANALYZE"))
    sent = []
    event.listen(engine, "before_cursor_execute", lambda *a: sent.append((a[2], a[3])))
    with engine.connect() as connection:
        connection.execute(reads._target_rows_statement(), {"milestone_ids": [1, 2, 3]})
        ((statement, parameters),) = sent
        plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        steps = [row[-1] for row in plan]
    engine.dispose()
    assert any("measurement" in step for step in steps), steps
    assert not any(HISTORY_SCAN.search(step) for step in steps), steps
