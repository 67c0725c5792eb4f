"""The deployment's audit export: CSV (read back with polars) and JSON Lines (read back with
json), every filter, admins only (404 to everyone else), streamed at a constant cost."""

from __future__ import annotations

import io
import json
import tracemalloc
from datetime import UTC, datetime, timedelta

import polars
import pytest
from sqlalchemy import insert

from tests.factories import make_engagement, make_user
from tracker.extensions import db
from tracker.models import AuditEvent, User
from tracker.services.administration import users as user_service
from tracker.services.audit_export import export

# On PostgreSQL too (ADR 0216): JSON columns (json on PostgreSQL, text on SQLite).
pytestmark = pytest.mark.postgres

INJECTION = '=HYPERLINK("http://x","y")'
DAY = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _csv(body: bytes) -> polars.DataFrame:
    assert body.startswith("\ufeff".encode())
    return polars.read_csv(io.BytesIO(body), infer_schema=False, encoding="utf8")


def _jsonl(body: bytes) -> list[dict]:
    text = body.decode("utf-8")
    assert text.endswith("\n") or text == ""
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture
def trail(app):
    """Two engagements of two providers, a provider person's sign-in, dated entries."""
    with app.app_context():
        admin = make_user("admin", email="root@example.com", name="Root")
        manager = make_user("manager", email="dana@example.com", name=INJECTION)
        provider = make_user("provider", email="priya@northwind.example", provider="Northwind ML")
        north = make_engagement(manager, title="North pod", provider="Northwind ML")
        quanta = make_engagement(manager, title="Quanta pod", provider="Quanta Labs")
        user_service.create_token(provider, "laptop")  # token_created, no engagement
        for n, when in enumerate((DAY, DAY + timedelta(days=1), DAY + timedelta(days=2))):
            db.session.add(
                AuditEvent(
                    engagement_id=quanta.id,
                    actor_id=manager.id,
                    actor_label=manager.name,
                    kind="updated",
                    reason=f"dated {n}",
                    data={"changed": {"title": ["a", "b"]}},
                    created_at=when,
                )
            )
        db.session.commit()
        return {
            "admin": admin.email,
            "manager": manager.email,
            "manager_id": manager.id,
            "provider": provider.email,
            "provider_id": provider.id,
            "north": north.id,
            "quanta": quanta.id,
            "north_org": north.provider_id,
        }


def test_csv_holds_every_event_with_formulas_neutralised(app, client, auth, trail):
    auth.login(trail["admin"])
    response = client.get("/api/v1/audit/export.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    frame = _csv(response.data)
    assert frame.columns == list(export.COLUMNS)
    with app.app_context():
        total = db.session.query(AuditEvent).count()
    assert frame.height == total and total >= 6
    actors = set(frame["actor"].drop_nulls().to_list())
    assert "'" + INJECTION in actors and INJECTION not in actors
    kinds = frame["kind"].to_list()
    assert {"created", "token_created", "updated", "signed_in"} <= set(kinds)
    ats = frame["at"].to_list()
    assert ats == sorted(ats)  # oldest first
    data = [json.loads(d) for d in frame.filter(polars.col("reason") == "dated 1")["data"]]
    assert data == [{"changed": {"title": ["a", "b"]}}]


def test_jsonl_is_one_object_per_event_with_the_same_rows(app, client, auth, trail):
    auth.login(trail["admin"])
    response = client.get("/api/v1/audit/export.jsonl")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/jsonl; charset=utf-8"
    records = _jsonl(response.data)
    frame = _csv(client.get("/api/v1/audit/export.csv").data)
    assert [r["id"] for r in records] == [int(i) for i in frame["id"].to_list()]
    assert set(records[0]) == set(export.JSON_KEYS)
    injected = [r for r in records if r["actor"] == INJECTION]
    assert injected  # JSON carries the text as it is: no spreadsheet runs it
    token = next(r for r in records if r["kind"] == "token_created")
    assert token["engagement_id"] is None and token["provider_id"] == trail["north_org"]
    assert token["provider"] == "Northwind ML" and token["data"]["name"] == "laptop"
    assert "secret" not in json.dumps(token)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("since=2026-03-11", ["dated 1", "dated 2"]),
        ("until=2026-03-11", ["dated 0", "dated 1"]),
        ("since=2026-03-11&until=2026-03-11", ["dated 1"]),
    ],
)
def test_the_date_range_is_inclusive_utc_days(app, client, auth, trail, query, expected):
    auth.login(trail["admin"])
    records = _jsonl(client.get(f"/api/v1/audit/export.jsonl?{query}&kind=updated").data)
    assert [r["reason"] for r in records] == expected


def test_actor_engagement_provider_and_kind_filters(app, client, auth, trail):
    auth.login(trail["admin"])

    def get(query: str) -> list[dict]:
        response = client.get(f"/api/v1/audit/export.jsonl?{query}")
        assert response.status_code == 200, response.text
        return _jsonl(response.data)

    by_actor = get(f"actor_id={trail['provider_id']}")
    assert by_actor and {r["actor_id"] for r in by_actor} == {trail["provider_id"]}
    north = get(f"engagement_id={trail['north']}")
    assert north and {r["engagement_id"] for r in north} == {trail["north"]}
    org = get(f"provider_id={trail['north_org']}")
    assert {r["engagement_id"] for r in org} == {trail["north"], None}
    assert all(r["provider"] == "Northwind ML" for r in org)
    assert "token_created" in {r["kind"] for r in org}  # its person's own event
    two_kinds = get("kind=token_created&kind=signed_in")
    assert {r["kind"] for r in two_kinds} == {"token_created", "signed_in"}
    assert get(f"engagement_id={trail['north']}&kind=token_created") == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=yesterday", "since"),
        ("since=2026-03-12&until=2026-03-11", "until"),
        ("actor_id=0", "actor_id"),
        ("engagement_id=abc", "engagement_id"),
        ("provider_id=99999999999", "provider_id"),
        ("kind=" + "k" * 41, "kind"),
    ],
)
def test_bad_filters_are_422_naming_the_field(app, client, auth, trail, query, field):
    auth.login(trail["admin"])
    response = client.get(f"/api/v1/audit/export.csv?{query}")
    assert response.status_code == 422
    assert field in json.dumps(response.get_json()["errors"])
    page = client.get(f"/admin/audit/export.csv?{query}")
    assert page.status_code == 422 and f'data-testid="error-{field}"' in page.text


@pytest.mark.parametrize("role", ["manager", "provider"])
def test_everyone_but_admins_gets_404(app, client, auth, trail, role):
    auth.login(trail[role])
    for path in ("/api/v1/audit/export.csv", "/api/v1/audit/export.jsonl?since=bad"):
        response = client.get(path)
        assert response.status_code == 404 and response.get_json()["code"] == "not_found"
    assert client.get("/admin/audit").status_code == 404
    assert client.get("/admin/audit/export.jsonl").status_code == 404
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == trail[role]))
        with pytest.raises(Exception) as refused:
            export.export_csv(user, export.AuditFilter())
    assert refused.value.status == 404


def test_signed_out_api_callers_get_401(client, trail):
    assert client.get("/api/v1/audit/export.csv").status_code == 401


def test_the_page_lists_filters_and_downloads_both_formats(app, client, auth, trail):
    auth.login(trail["admin"])
    page = client.get("/admin/audit")
    assert page.status_code == 200
    assert 'data-testid="export-csv"' in page.text and 'data-testid="export-jsonl"' in page.text
    assert ">Northwind ML<" in page.text and '<option value="token_created"' in page.text
    assert 'href="/admin/audit"' in page.text  # the navigation links to it
    csv_body = client.get(f"/admin/audit/export.csv?engagement_id={trail['quanta']}").data
    frame = _csv(csv_body)
    assert set(frame["engagement id"].to_list()) == {str(trail["quanta"])}
    lines = _jsonl(client.get("/admin/audit/export.jsonl?kind=token_created").data)
    assert [r["kind"] for r in lines] == ["token_created"]


def _bulk(app, count: int, start_id: int) -> None:
    with app.app_context():
        rows = [
            {
                "id": start_id + n,
                "engagement_id": None,
                "actor_id": None,
                "actor_label": "scheduler",
                "kind": "bulk",
                "reason": "x" * 200,
                "data": {"n": n},
                "created_at": DAY,
            }
            for n in range(count)
        ]
        db.session.execute(insert(AuditEvent), rows)
        db.session.commit()


def _consume(app, admin_email: str, writer, batch: int, query_counter) -> tuple[int, int, int]:
    """(statements, peak bytes, rows) of reading the whole export."""
    with app.test_request_context():
        admin = db.session.scalar(db.select(User).where(User.email == admin_email))
        flt = export.AuditFilter(kinds=("bulk",))
        with query_counter() as counted:
            tracemalloc.start()
            size = 0
            lines = 0
            for chunk in writer(admin, flt, batch):
                size = max(size, len(chunk))
                lines += chunk.count("\n")
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    return counted.count, peak, lines


@pytest.mark.parametrize("writer", [export.export_csv, export.export_jsonl], ids=["csv", "jsonl"])
def test_statements_and_memory_do_not_grow_with_the_rows(app, trail, query_counter, writer):
    _bulk(app, 300, 1_000_000)
    small = _consume(app, trail["admin"], writer, 100, query_counter)
    _bulk(app, 2700, 2_000_000)
    large = _consume(app, trail["admin"], writer, 100, query_counter)
    assert small[2] >= 300 and large[2] >= 3000  # every row came out
    assert small[0] == large[0] <= 2  # one SELECT (and the admin's row), whatever the rows
    # Ten times the rows, at most a batch's worth more memory: rows are not kept.
    assert large[1] < small[1] * 1.5 + 200_000, (small, large)


def test_the_page_picks_the_actor_by_name_and_address(app, client, auth, trail):
    """The export page's actor is a picker (issue 29): suggestions from /admin/audit/actors,
    "Name <email>" or an address resolved to that person; anyone unknown is refused beside
    the field, and the picker is the exporters' only, like the page."""
    auth.login(trail["admin"])
    page = client.get("/admin/audit").get_data(as_text=True)
    assert '<select name="actor_id"' not in page and 'list="people-choices"' in page
    suggestions = client.get(f"/admin/audit/actors?q={trail['provider']}").get_json()
    (label,) = suggestions["items"]
    assert label.endswith(f"<{trail['provider']}>")
    picked = client.get("/admin/audit/export.jsonl", query_string={"actor_id": label})
    assert picked.status_code == 200
    rows = _jsonl(picked.data)
    assert rows and {r["actor_id"] for r in rows} == {trail["provider_id"]}
    typed = client.get("/admin/audit/export.jsonl", query_string={"actor_id": trail["provider"]})
    assert _jsonl(typed.data) == rows
    unknown = client.get("/admin/audit/export.csv", query_string={"actor_id": "Nobody <x@y.z>"})
    assert unknown.status_code == 422 and 'data-testid="error-actor_id"' in unknown.text
    assert 'value="Nobody &lt;x@y.z&gt;"' in unknown.text  # what was typed
    assert client.get("/admin/audit/actors?page=0").status_code == 422
    auth.logout()
    auth.login(trail["manager"])
    assert client.get("/admin/audit/actors?q=a").status_code == 404
