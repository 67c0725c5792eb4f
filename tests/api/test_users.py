"""/api/v1/users and /api/v1/providers: admin only, every field checked, and a deactivated
user's session, remember cookie, API token and calendar feed each stop working at once."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.api.conftest import assert_error
from tests.conftest import csrf_from
from tests.factories import PASSWORD
from tracker.extensions import db
from tracker.models import AuditEvent, OutboxEmail, User

NEW_PASSWORD = "harbour lantern quietly"
USER_OPERATIONS = [
    ("GET", "/users"),
    ("POST", "/users"),
    ("GET", "/users/{id}"),
    ("PATCH", "/users/{id}"),
    ("POST", "/users/{id}/deactivate"),
    ("POST", "/users/{id}/reactivate"),
    ("POST", "/users/{id}/password-link"),
    ("GET", "/providers"),
    ("POST", "/providers"),
    ("GET", "/providers/1"),
    ("PATCH", "/providers/1"),
    ("POST", "/providers/1/deactivate"),
    ("POST", "/providers/1/reactivate"),
]


@pytest.mark.parametrize("role", ["manager", "provider", "stakeholder"])
@pytest.mark.parametrize(("method", "path"), USER_OPERATIONS)
def test_only_admins_manage_users_and_providers(api, role, method, path):
    body = {"name": "X Ltd"} if method in {"POST", "PATCH"} else None
    url = path.format(id=api.world.users["manager"])
    response = api.call(method, url, role, json=body)
    assert_error(response, 403, code="forbidden")
    assert_error(api.call(method, url, None, json=body), 401)


def test_admin_lists_users_with_status_and_organisation(api):
    users = api.get("/users", "admin").get_json()
    by_role = {u["role"]: u for u in users}
    assert by_role["provider"]["provider"]["name"] == "Northwind ML"
    assert by_role["provider"]["provider"]["is_active"] is True
    assert {u["status"] for u in users} == {"active"}
    assert all("password" not in key for u in users for key in u)
    assert set(by_role["admin"]) >= {"last_login_at", "is_active", "created_at", "email"}


def test_invite_by_api_queues_the_link_email_and_audits(api, app):
    response = api.post(
        "/users", "admin", json={"email": "Ada@Example.com", "name": "Ada", "role": "manager"}
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["email"] == "ada@example.com" and body["status"] == "invited"
    with app.app_context():
        email = db.session.scalars(select(OutboxEmail)).one()
        assert email.to_address == "ada@example.com"
        assert re.search(r"http://localhost/password/set/pw_\S+", email.text_body)
        entry = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "user_invited"))
        assert entry.one().data["user_id"] == body["id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "A", "role": "manager"}, "email"),
        ({"email": "a@example.com", "role": "manager"}, "name"),
        ({"email": "a@example.com", "name": "A"}, "role"),
        ({"email": "a@example.com", "name": "A", "role": "root"}, "role"),
        ({"email": "nope", "name": "A", "role": "manager"}, "email"),
        ({"email": "a@example.com", "name": "A" * 201, "role": "manager"}, "name"),
        ({"email": "a@example.com", "name": "A", "role": "provider"}, "provider_id"),
        (
            {"email": "a@example.com", "name": "A", "role": "provider", "provider_id": "1"},
            "provider_id",
        ),
        (
            {"email": "a@example.com", "name": "A", "role": "provider", "provider_id": 99},
            "provider_id",
        ),
        ({"email": "a@example.com", "name": "A", "role": "manager", "timezone": "X/Y"}, "timezone"),
        ({"email": "a@example.com", "name": "A", "role": "manager", "password": "x"}, "password"),
        ({"email": "a@example.com", "name": "A", "role": "manager", "admin": True}, "admin"),
    ],
)
def test_bad_user_input_is_422_naming_the_field_and_creates_nothing(api, app, body, field):
    with app.app_context():
        before = db.session.scalar(select(db.func.count(User.id)))
    assert_error(api.post("/users", "admin", json=body), 422, field=field)
    with app.app_context():
        assert db.session.scalar(select(db.func.count(User.id))) == before
        assert db.session.scalar(select(db.func.count(OutboxEmail.id))) == 0


def test_patch_changes_role_and_the_last_admin_is_kept(api):
    stakeholder = api.world.users["stakeholder"]
    changed = api.patch(f"/users/{stakeholder}", "admin", json={"role": "manager", "name": "Sam"})
    assert changed.status_code == 200 and changed.get_json()["role"] == "manager"
    admin = api.world.users["admin"]
    body = assert_error(api.patch(f"/users/{admin}", "admin", json={"role": "manager"}), 409)
    assert "last active admin" in body["message"] and "role" in body["errors"]
    body = assert_error(api.post(f"/users/{admin}/deactivate", "admin"), 409)
    assert "is_active" in body["errors"]
    assert api.get(f"/users/{admin}", "admin").get_json()["role"] == "admin"
    assert_error(api.patch(f"/users/{admin}", "admin", json={"timezone": "Nowhere"}), 422)
    assert_error(api.get("/users/999999", "admin"), 404)


def _sign_in(client, email: str, remember: bool = False):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    data = {"email": email, "password": PASSWORD, "csrf_token": token}
    if remember:
        data["remember"] = "y"
    assert client.post("/login", data=data).status_code == 302


def _manager_email(app, world) -> str:
    with app.app_context():
        return db.session.get(User, world.users["manager"]).email


def _deactivate_manager(api):
    response = api.post(
        f"/users/{api.world.users['manager']}/deactivate", "admin", json={"reason": "Left"}
    )
    assert response.status_code == 200 and response.get_json()["status"] == "deactivated"


def test_deactivation_ends_a_signed_in_session_at_once(api, app):
    browser = app.test_client()
    _sign_in(browser, _manager_email(app, api.world))
    assert browser.get("/home").status_code == 200
    _deactivate_manager(api)
    response = browser.get("/home")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert browser.get("/api/v1/me").status_code == 401


def test_deactivation_ends_the_remember_cookie(api, app):
    browser = app.test_client()
    _sign_in(browser, _manager_email(app, api.world), remember=True)
    browser.delete_cookie("session")
    assert browser.get("/home").status_code == 200  # the remember cookie alone signs in
    browser.delete_cookie("session")
    _deactivate_manager(api)
    assert browser.get("/home").status_code == 302


def test_deactivation_ends_api_tokens(api):
    assert api.get("/me", "manager").status_code == 200
    _deactivate_manager(api)
    assert_error(api.get("/me", "manager"), 401)
    api.post(f"/users/{api.world.users['manager']}/reactivate", "admin")
    assert_error(api.get("/me", "manager"), 401)  # revoked for good, not just paused


def test_deactivation_ends_the_calendar_feed(api, client):
    url = api.get("/me/calendar", "manager").get_json()["url"]
    path = url.removeprefix("http://localhost")
    assert client.get(path).status_code == 200
    _deactivate_manager(api)
    assert client.get(path).status_code == 404


def test_password_link_and_reactivation(api, app):
    manager = api.world.users["manager"]
    assert api.post(f"/users/{manager}/password-link", "admin").status_code == 202
    _deactivate_manager(api)
    assert_error(api.post(f"/users/{manager}/password-link", "admin"), 409)
    assert_error(api.post(f"/users/{manager}/deactivate", "admin"), 409)
    assert api.post(f"/users/{manager}/reactivate", "admin").get_json()["status"] == "active"
    assert_error(api.post(f"/users/{manager}/reactivate", "admin"), 409)
    assert_error(api.post(f"/users/{manager}/deactivate", "admin", json={"reason": "x" * 501}), 422)


def test_providers_create_rename_deactivate_keep_engagements_readable(api):
    created = api.post("/providers", "admin", json={"name": "Quanta Labs 2", "website": None})
    assert created.status_code == 201
    quanta = created.get_json()["id"]
    assert_error(api.post("/providers", "admin", json={"name": "northwind ml"}), 422, field="name")
    assert_error(api.post("/providers", "admin", json={"name": ""}), 422, field="name")
    assert_error(api.post("/providers", "admin", json={}), 422, field="name")
    assert_error(api.patch(f"/providers/{quanta}", "admin", json={"website": "x"}), 422)
    renamed = api.patch(f"/providers/{quanta}", "admin", json={"name": "Quanta Labs Two"})
    assert renamed.get_json()["name"] == "Quanta Labs Two"
    northwind = api.get(f"/users/{api.world.users['provider']}", "admin").get_json()["provider"]
    assert api.get("/me", "provider").status_code == 200
    off = api.post(f"/providers/{northwind['id']}/deactivate", "admin", json={"reason": "Ended"})
    assert off.status_code == 200 and off.get_json()["is_active"] is False
    assert_error(api.get("/me", "provider"), 401)
    own = api.world.engagements["own"]
    assert api.get(f"/engagements/{own}", "manager").status_code == 200
    user = api.get(f"/users/{api.world.users['provider']}", "admin").get_json()
    assert user["status"] == "organisation_deactivated"
    assert_error(api.post(f"/providers/{northwind['id']}/deactivate", "admin"), 409)
    assert api.post(f"/providers/{northwind['id']}/reactivate", "admin").status_code == 200
    assert api.get("/me", "provider").status_code == 200
    assert_error(api.get("/providers/999999", "admin"), 404)


def test_openapi_lists_the_admin_operations(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in (
        "/api/v1/users",
        "/api/v1/users/{user_id}",
        "/api/v1/users/{user_id}/deactivate",
        "/api/v1/users/{user_id}/reactivate",
        "/api/v1/users/{user_id}/password-link",
        "/api/v1/providers",
        "/api/v1/providers/{provider_id}",
        "/api/v1/providers/{provider_id}/deactivate",
        "/api/v1/providers/{provider_id}/reactivate",
    ):
        assert path in paths, path
