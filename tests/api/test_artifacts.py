"""Shadows, artifacts and readiness over HTTP (api/shadows.py, api/artifacts.py)."""

from __future__ import annotations

import pytest

from tests.factories import add_member, make_engagement, make_user
from tracker.extensions import db
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
