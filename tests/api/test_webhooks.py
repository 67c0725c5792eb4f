"""Outgoing webhooks in the API (api/webhooks.py): admins only, the secret shown once, bad input."""

from __future__ import annotations

import pytest

from tests.api.conftest import assert_error


@pytest.mark.parametrize("role", ["manager", "provider", "stakeholder"])
def test_only_admins_manage_webhooks(api, role):
    assert_error(api.get("/webhooks", role), 403)
    body = {"url": "https://example.com/hook", "events": ["engagement.created"]}
    assert_error(api.post("/webhooks", role, json=body), 403)


def test_webhook_crud_secret_once_and_bad_input(api, app):
    app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = True
    body = {"url": "http://127.0.0.1:9/hook", "events": ["engagement.created"], "description": "x"}
    created = api.post("/webhooks", "admin", json=body)
    assert created.status_code == 201, created.get_json()
    hook = created.get_json()
    assert hook["secret"].startswith("whsec_")
    one = api.get(f"/webhooks/{hook['id']}", "admin").get_json()
    assert "secret" not in one and one["events"] == ["engagement.created"]
    rotated = api.post(f"/webhooks/{hook['id']}/rotate-secret", "admin").get_json()
    assert rotated["secret"] != hook["secret"]
    patched = api.patch(f"/webhooks/{hook['id']}", "admin", json={"is_enabled": False})
    assert patched.get_json()["is_enabled"] is False
    test = api.post(f"/webhooks/{hook['id']}/test", "admin")
    assert test.status_code == 202 and test.get_json()["event_type"] == "webhook.test"
    log = api.get(f"/webhooks/{hook['id']}/deliveries", "admin").get_json()
    assert [d["id"] for d in log] == [test.get_json()["id"]]
    again = api.post(f"/webhook-deliveries/{log[0]['id']}/redeliver", "admin")
    assert again.status_code == 202 and again.get_json()["status"] == "pending"
    assert_error(api.post("/webhooks", "admin", json=body | {"events": ["nope"]}), 422, None)
    assert_error(api.post("/webhooks", "admin", json=body | {"url": "ftp://x.example/a"}), 422)
    app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = False
    refused = api.post("/webhooks", "admin", json=body)
    assert_error(refused, 422, field="url")
    assert api.delete(f"/webhooks/{hook['id']}", "admin").status_code == 204
    assert_error(api.get(f"/webhooks/{hook['id']}", "admin"), 404)
    assert_error(api.post("/webhook-deliveries/999/redeliver", "admin"), 404)


def test_openapi_lists_the_integration_operations(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in (
        "/api/v1/me/calendar",
        "/api/v1/me/calendar/rotate",
        "/api/v1/engagements/export.csv",
        "/api/v1/webhooks",
        "/api/v1/webhooks/{endpoint_id}/deliveries",
        "/api/v1/webhook-deliveries/{delivery_id}/redeliver",
    ):
        assert path in paths, path
