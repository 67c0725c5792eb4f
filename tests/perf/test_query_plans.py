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

from tests.perf.helpers import grow_to, scale_user_email, token_for
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


def _row_by_row(app, statements) -> list[str]:
    """The statements whose plan reads the engagement table row by row."""
    scans = []
    with app.app_context():
        connection = db.session.connection().connection.dbapi_connection
        for statement, parameters in statements:
            if "engagement" not in statement or not statement.lstrip().upper().startswith("SELECT"):
                continue
            plan = connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
            steps = [row[-1] for row in plan]
            if any(ROW_BY_ROW.search(step) for step in steps):
                scans.append(f"{statement[:160]}… → {steps}")
        db.session.remove()
    return scans


@pytest.fixture
def scaled(app, sqlite_only):
    grow_to(app, 200, SEED)
    with app.app_context():
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        db.session.remove()


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
