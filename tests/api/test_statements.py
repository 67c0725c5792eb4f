"""The API's hot paths in SQL statements (issue 29): the detail, and the provider's
milestone update with everything its commit keeps current.

The milestone update reads its milestone and engagement in one statement and answers
from the update and its author as committed, so nothing is selected after the commit;
its derived steps (reminders, webhook rows, health and its history) still run in the
same commit and are asserted by their own tests (tests/services/...).
"""

from __future__ import annotations

import re

import pytest

from tracker.extensions import db
from tracker.models import Milestone

# On PostgreSQL too (ADR 0216): statement counts depend on the dialect.
pytestmark = pytest.mark.postgres

_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
_SELECT = re.compile(r"^\s*SELECT\b", re.IGNORECASE)


def _reads(statement: str) -> set[str]:
    return set(re.findall(r'(?:FROM|JOIN)\s+"?(\w+)"?', statement, re.IGNORECASE))


def test_the_detail_is_the_token_and_one_statement(api, world, query_counter):
    path = f"/engagements/{world.engagements['own']}"
    for role in ("manager", "provider", "stakeholder"):
        assert api.get(path, role).status_code == 200  # warm: token's last use written
        with query_counter() as counter:
            assert api.get(path, role).status_code == 200
        assert counter.count == 2, (role, counter.statements)
        assert "api_token" in _reads(counter.statements[0])
        assert "engagement" in _reads(counter.statements[1])


def test_the_list_is_the_token_and_one_statement_with_its_total(api, world, query_counter):
    """The page's rows and its total in one statement (ADR 0260); the total is the one the
    rows were read with, for every visibility rule."""
    for role in ("manager", "provider", "stakeholder"):
        assert api.get("/engagements?per_page=1", role).status_code == 200  # warm
        with query_counter() as counter:
            response = api.get("/engagements?per_page=1", role)
        assert response.status_code == 200
        assert counter.count == 2, (role, counter.statements)
        assert "api_token" in _reads(counter.statements[0])
        assert "count(" in counter.statements[1].lower()
        body = response.get_json()
        everything = api.get("/engagements?per_page=100", role).get_json()
        assert body["meta"]["total"] == len(everything["items"]) >= 1, role
        assert len(body["items"]) == 1


@pytest.mark.parametrize("role", ["provider", "manager"])
def test_a_milestone_update_reads_once_and_selects_nothing_after_it_writes(
    app, api, world, query_counter, role
):
    path = f"/milestones/{world.milestones['own']}/updates"
    assert api.post(path, role, json={"status": "on_track"}).status_code == 201  # warm
    with query_counter() as counter:
        response = api.post(path, role, json={"status": "at_risk", "note": "Late data"})
    assert response.status_code == 201, response.get_json()
    statements = counter.statements
    first_write = next(i for i, s in enumerate(statements) if _WRITE.match(s))
    before = [s for s in statements[:first_write] if _SELECT.match(s)]
    # The token, then the milestone joined with its engagement: two reads, not three.
    assert len(before) == 2, before
    assert {"milestone", "engagement"} <= _reads(before[1])
    last_write = max(i for i, s in enumerate(statements) if _WRITE.match(s))
    # What the derived steps read sits between the writes; after the last one (the
    # health history), nothing: the answer is built from what the request holds.
    assert statements[last_write + 1 :] == [], statements[last_write + 1 :]
    # Neither the update nor its author is selected again (the token's read joins user).
    again = [
        s for s in statements[1:] if _SELECT.match(s) and _reads(s) & {"milestone_update", "user"}
    ]
    assert again == [], again
    with app.app_context():
        assert db.session.get(Milestone, world.milestones["own"]).status == "at_risk"
        db.session.remove()


def test_a_milestone_updates_health_rejudgement_is_one_read(app, api, world, query_counter):
    """The commit re-judges the engagement's health from all its facts (milestones, open
    items, targets and measurements, open access, approved change requests) in one
    statement: five were five PostgreSQL round trips on every update (issue 29)."""
    path = f"/milestones/{world.milestones['own']}/updates"
    assert api.post(path, "provider", json={"status": "on_track"}).status_code == 201  # warm
    with query_counter() as counter:
        response = api.post(path, "provider", json={"status": "at_risk", "note": "Late"})
    assert response.status_code == 201, response.get_json()
    fact_tables = {"checklist_item", "access_entry", "change_request", "milestone_target"}
    reads = [s for s in counter.statements if _SELECT.match(s) and _reads(s) & fact_tables]
    assert len(reads) == 1, reads
    assert fact_tables <= _reads(reads[0])
    with app.app_context():
        assert db.session.get(Milestone, world.milestones["own"]).status == "at_risk"
        db.session.remove()


def test_a_health_moving_milestone_update_is_twelve_statements(app, api, world, query_counter):
    """The whole budget of the provider's update that turns its engagement amber and back:
    the token, the milestone with its engagement, three writes, the webhook endpoints once
    for both events (the milestone's and the health's, two flushes), the subject's
    reminder rows, the health facts, the engagement's new health, its history (two) and
    the dashboard counts' ledger rows (one INSERT, ADR 0259). Thirteen before the
    endpoints were read once per unit of work (issue 29)."""
    path = f"/milestones/{world.milestones['own']}/updates"
    assert api.post(path, "provider", json={"status": "on_track"}).status_code == 201  # warm
    for status in ("at_risk", "on_track"):
        with query_counter() as counter:
            response = api.post(path, "provider", json={"status": status, "note": "Late"})
        assert response.status_code == 201, response.get_json()
        statements = counter.statements
        assert any(s.lstrip().startswith("INSERT INTO health_change") for s in statements)
        endpoint_reads = [s for s in statements if "webhook_endpoint" in _reads(s)]
        assert len(endpoint_reads) == 1, endpoint_reads
        ledger = [s for s in statements if s.lstrip().startswith("INSERT INTO engagement_count")]
        assert len(ledger) == 1, statements
        assert len(statements) == 12, statements
