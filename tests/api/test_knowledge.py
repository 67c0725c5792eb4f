"""The knowledge-retention API: ADRs, shadows, artifacts and readiness over HTTP."""

from __future__ import annotations

import io
import zipfile

import pytest

from tests.factories import add_member, make_engagement, make_user
from tracker.extensions import db
from tracker.models import Adr
from tracker.services.administration import users as user_service


@pytest.fixture
def api(app, client):
    """Tokens for a manager, a provider, another provider and an internal engineer."""
    with app.app_context():
        people = {
            "manager": make_user("manager"),
            "provider": make_user("provider", provider="Northwind ML"),
            "outsider": make_user("provider", provider="Quanta Labs"),
            "internal": make_user("stakeholder"),
        }
        engagement = make_engagement(people["manager"], provider="Northwind ML")
        member = add_member(engagement, "Mara Quint", areas=("serving",))
        ids = {"engagement": engagement.id, "member": member.id}
        ids.update({f"{k}_id": u.id for k, u in people.items()})
        tokens = {k: user_service.create_token(u, "t")[1] for k, u in people.items()}
        db.session.remove()

    def call(method, path, who="manager", headers=None, **kwargs):
        headers = {"Authorization": f"Bearer {tokens[who]}", **(headers or {})}
        return client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    call.ids = ids
    return call


def test_adr_lifecycle_over_http(api):
    e = api.ids["engagement"]
    created = api("POST", f"/engagements/{e}/adrs", "provider", json={"title": "Use Feast"})
    assert created.status_code == 201 and created.json["number"] == 1
    assert created.headers["ETag"] == '"v1"'
    adr_id = created.json["id"]
    refused = api("POST", f"/adrs/{adr_id}/decision", "provider", json={"status": "accepted"})
    assert refused.status_code == 403
    stale = api(
        "PATCH", f"/adrs/{adr_id}", "provider", json={"title": "x"}, headers={"If-Match": '"v9"'}
    )
    assert stale.status_code == 412
    decided = api("POST", f"/adrs/{adr_id}/decision", json={"status": "accepted", "note": "ok"})
    assert decided.status_code == 200 and decided.json["status"] == "accepted"
    revisions = api("GET", f"/adrs/{adr_id}/revisions").json
    assert [r["change"] for r in revisions] == ["created", "accepted"]


def test_bad_input_names_the_field_and_changes_nothing(api, app):
    e = api.ids["engagement"]
    for body, field in (
        ({"title": ""}, "title"),
        ({"title": "x", "status": "superseded"}, "status"),
        ({"title": "x", "supersedes_id": "one"}, "supersedes_id"),
        ({"title": "x", "colour": "red"}, "colour"),
    ):
        answer = api("POST", f"/engagements/{e}/adrs", json=body)
        assert answer.status_code == 422, body
        assert field in answer.json["errors"]
    answer = api("POST", f"/engagements/{e}/adrs", json={"title": "x", "supersedes_id": 99999})
    assert answer.status_code == 422 and "supersedes_id" in answer.json["errors"]
    with app.app_context():
        assert db.session.query(Adr).count() == 0


def test_other_provider_gets_404_everywhere(api):
    e = api.ids["engagement"]
    adr_id = api("POST", f"/engagements/{e}/adrs", json={"title": "Secret"}).json["id"]
    for method, path in (
        ("GET", f"/engagements/{e}/adrs"),
        ("GET", f"/adrs/{adr_id}"),
        ("GET", f"/engagements/{e}/shadows"),
        ("GET", f"/engagements/{e}/artifacts"),
        ("GET", f"/engagements/{e}/readiness"),
        ("GET", f"/engagements/{e}/adrs/export?profile=madr"),
    ):
        assert api(method, path, "outsider").status_code == 404, path


def test_export_zip_and_import_json(api, app):
    e = api.ids["engagement"]
    api("POST", f"/engagements/{e}/adrs", json={"title": "Use MLflow", "status": "accepted"})
    exported = api("GET", f"/engagements/{e}/adrs/export?profile=adr-tools")
    assert exported.status_code == 200 and exported.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(exported.data))
    assert archive.namelist() == ["doc/adr/0001-use-mlflow.md"]
    with app.app_context():
        target = make_engagement(make_user("manager")).id
    files = {name: archive.read(name).decode() for name in archive.namelist()}
    imported = api("POST", f"/engagements/{target}/adrs/import", json={"files": files})
    assert imported.status_code == 201 and imported.json[0]["title"] == "Use MLflow"
    bad = api("POST", f"/engagements/{target}/adrs/import", json={"files": {"x/0002-a.md": "?"}})
    assert bad.status_code == 422 and "x/0002-a.md" in bad.json["errors"]
    assert api("GET", f"/engagements/{e}/adrs/export?profile=word").status_code == 422


def test_shadows_artifacts_and_readiness(api):
    e, ids = api.ids["engagement"], api.ids
    body = {"member_id": ids["member"], "shadow_id": ids["internal_id"], "areas": ["serving"]}
    shadow = api("POST", f"/engagements/{e}/shadows", json=body)
    assert shadow.status_code == 201, shadow.json
    sid = shadow.json["id"]
    session = {"held_on": "2025-05-02", "duration_minutes": 45, "topic": "Serving"}
    assert api("POST", f"/shadows/{sid}/sessions", "internal", json=session).status_code == 201
    bad = api("POST", f"/shadows/{sid}/sessions", json={**session, "duration_minutes": 4.5})
    assert bad.status_code == 422 and "duration_minutes" in bad.json["errors"]
    rated = api("PUT", f"/shadows/{sid}/confidence", "internal", json={"confidence": 4})
    assert rated.status_code == 200 and rated.json["confidence"] == 4
    signed = api("POST", f"/shadows/{sid}/sign-off")
    assert signed.status_code == 200 and signed.json["is_signed_off"] is True
    link = {"kind": "runbook", "title": "RB", "url": "https://wiki.example.com/rb"}
    assert api("POST", f"/engagements/{e}/artifacts", "provider", json=link).status_code == 201
    bad = api("POST", f"/engagements/{e}/artifacts", json={**link, "url": "ftp://x"})
    assert bad.status_code == 422 and "url" in bad.json["errors"]
    ready = api("GET", f"/engagements/{e}/readiness").json
    parts = {p["name"]: p for p in ready["parts"]}
    assert parts["shadows"]["done"] == 1 and parts["runbooks"]["done"] == 1
    assert ready["is_ready"] is False  # the knowledge-transfer checklist is still open
    assert {g["code"] for g in parts["kt_checklist"]["gaps"]} == {"kt_item_incomplete"}
