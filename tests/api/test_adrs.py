"""ADRs over HTTP (api/adrs.py): the lifecycle, bad input naming the field, export and import,
and another provider's 404 on the knowledge endpoints."""

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
