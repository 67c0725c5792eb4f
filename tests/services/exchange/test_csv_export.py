"""CSV exports: filters and sort honoured, cost per role, formula injection, streaming, readers."""

from __future__ import annotations

import csv
import io

import polars
import pytest

from tests.factories import add_milestone, make_engagement, make_user
from tracker.extensions import db
from tracker.models import Engagement, MilestoneUpdate, User
from tracker.services.administration import users as user_service
from tracker.services.exchange import csv_export

INJECTION = '=HYPERLINK("http://x","y")'


def _rows(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())
    text = body.decode("utf-8-sig")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.fixture
def people(app):
    with app.app_context():
        manager = make_user("manager")
        provider = make_user("provider", provider="Northwind ML")
        make_engagement(manager, title="Ämsig Größe — Ωmega", provider="Northwind ML")
        make_engagement(manager, title=INJECTION, provider="Northwind ML")
        red = make_engagement(manager, title="Alpha red", provider="Quanta Labs")
        red.health = "red"
        db.session.commit()
        return {"manager": manager.email, "provider": provider.email, "red": red.id}


def test_dashboard_csv_honours_filters_sort_and_neutralises_formulas(app, client, auth, people):
    auth.login(people["manager"])
    response = client.get("/engagements.csv?sort=title")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = _rows(response.data)
    header, body = rows[0], rows[1:]
    assert header[:4] == ["id", "title", "state", "health"] and "monthly cost" in header
    titles = [r[1] for r in body]
    assert titles == sorted(titles, key=str.lower)
    assert "'" + INJECTION in titles and INJECTION not in titles
    assert "Ämsig Größe — Ωmega" in titles
    assert body[0][2] == "Discovery"  # the state's label from the definition
    red_only = _rows(client.get("/engagements.csv?health=red").data)[1:]
    assert [int(r[0]) for r in red_only] == [people["red"]]
    assert client.get("/engagements.csv?health=purple").status_code in (400, 422)


def test_provider_export_has_no_cost_and_no_other_organisation(app, client, auth, people):
    auth.login(people["provider"])
    rows = _rows(client.get("/engagements.csv").data)
    assert "monthly cost" not in rows[0] and "currency" not in rows[0]
    assert len(rows) == 3 and all("Alpha red" not in r for r in rows)
    assert all("30000" not in cell for row in rows for cell in row)


def test_an_independent_reader_gets_the_same_cells(app, client, auth, people):
    auth.login(people["manager"])
    body = client.get("/engagements.csv?sort=title").data
    frame = polars.read_csv(io.BytesIO(body), infer_schema=False)
    assert frame.columns[0] == "id"  # the BOM is not part of the first name
    assert frame["title"].to_list() == [r[1] for r in _rows(body)[1:]]


def test_api_export_uses_the_list_filters(app, client, people):
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == people["manager"]))
        token = user_service.create_token(user, "csv")[1]
    headers = {"Authorization": f"Bearer {token}"}
    response = client.get("/api/v1/engagements/export.csv?health=red", headers=headers)
    assert response.status_code == 200, response.data
    rows = _rows(response.data)
    assert [int(r[0]) for r in rows[1:]] == [people["red"]]
    listed = client.get("/api/v1/engagements?sort=title", headers=headers).get_json()
    exported = _rows(client.get("/api/v1/engagements/export.csv?sort=title", headers=headers).data)
    assert [int(r[0]) for r in exported[1:]] == [e["id"] for e in listed["items"]]
    bad = client.get("/api/v1/engagements/export.csv?sort=nope", headers=headers)
    assert bad.status_code == 422 and "sort" in bad.get_json()["errors"]


def test_engagement_milestones_checklist_and_audit_exports(app, client, auth, people):
    with app.app_context():
        manager = db.session.scalar(db.select(User).where(User.email == people["manager"]))
        engagement = make_engagement(manager, title="Exports")
        milestone = add_milestone(engagement, title="+1 day metric")
        db.session.add(
            MilestoneUpdate(milestone_id=milestone.id, status="at_risk", note="@risk", evidence=[])
        )
        db.session.commit()
        engagement_id = engagement.id
    auth.login(people["manager"])
    milestones = _rows(client.get(f"/engagements/{engagement_id}/milestones.csv").data)
    assert milestones[1][2] == "'+1 day metric" and milestones[1][10] == "'@risk"
    checklist = _rows(client.get(f"/engagements/{engagement_id}/checklist.csv").data)
    assert len(checklist) > 5 and checklist[0][0] == "item id"
    audit = _rows(client.get(f"/engagements/{engagement_id}/audit.csv").data)
    assert audit[0][-1] == "details" and len(audit) >= 2
    auth.logout()
    auth.login(people["provider"])
    assert client.get(f"/engagements/{people['red']}/checklist.csv").status_code == 404


def test_safe_cell_covers_every_owasp_start():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert csv_export.safe_cell(f"{start}1+1") == f"'{start}1+1"
    assert csv_export.safe_cell(-3) == -3 and csv_export.safe_cell("a=b") == "a=b"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_thousands_of_rows_stream_in_constant_queries(app, query_counter):
    # Five batches prove the per-batch cost is constant; benchmarks/exports.py times 10,000.
    from tracker.demo import scale_data
    from tracker.services.read_model.engagement_list import ListQuery

    with app.app_context():
        scale_data.generate(2_500, seed=14)
        actor = db.session.scalar(db.select(User).where(User.role == "admin").limit(1))
        actor = actor or make_user("admin")
        total = db.session.scalar(
            db.select(db.func.count(Engagement.id)).where(Engagement.closed_at.is_(None))
        )
        from datetime import date

        with query_counter() as counter:
            chunks = csv_export.engagements_csv(
                actor, ListQuery(sort="title", descending=False, live_only=True), date.today()
            )
            first = next(chunks)
            largest = len(first)
            lines = first.count("\r\n")
            for chunk in chunks:
                largest = max(largest, len(chunk))
                lines += chunk.count("\r\n")
        assert lines == total + 1
        batches = -(-total // csv_export.BATCH)
        # per batch: the page, next milestones, late milestones, late items (+1 last empty)
        assert batches >= 4
        assert counter.count <= 4 * batches + 6, counter.count
        assert largest < 200_000  # chunks stay small: nothing holds the whole export
