"""/admin/users and /admin/providers: admins only, refusals keep what was typed, and a
deactivation signs the user out of a session they already had."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import AuthActions, csrf_from
from tests.factories import make_user
from tracker.extensions import db
from tracker.models import ProviderOrganisation, User


@pytest.mark.parametrize("role", ["manager", "provider", "stakeholder"])
def test_the_admin_pages_do_not_exist_for_anyone_else(client, sign_in, role):
    sign_in(role)
    for path in ("/admin/users", "/admin/providers", "/admin/users/1", "/admin/providers/1"):
        assert client.get(path).status_code == 404, path
    assert client.post("/admin/users", data={"email": "x@example.com"}).status_code in (400, 404)


def test_a_refused_invitation_says_why_and_keeps_what_was_typed(app, client, sign_in):
    sign_in("admin")
    page = client.get("/admin/users").get_data(as_text=True)
    response = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf_from(page),
            "email": "not-an-address",
            "name": "Typed Name Kept",
            "role": "manager",
            "timezone": "UTC",
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'value="Typed Name Kept"' in html and 'value="not-an-address"' in html
    assert "has-error" in html
    with app.app_context():
        assert (
            db.session.scalar(select(func.count(User.id)).where(User.name == "Typed Name Kept"))
            == 0
        )


def test_the_last_admin_cannot_deactivate_themselves(app, client, sign_in):
    admin_id = sign_in("admin")
    page = client.get(f"/admin/users/{admin_id}").get_data(as_text=True)
    response = client.post(
        f"/admin/users/{admin_id}/deactivate", data={"csrf_token": csrf_from(page)}
    )
    assert response.status_code == 409
    assert "last active admin" in response.get_data(as_text=True).lower()
    with app.app_context():
        assert db.session.get(User, admin_id).is_active


def test_deactivation_signs_out_a_session_already_open(app, client, sign_in):
    with app.app_context():
        manager = make_user("manager")
        manager_id, email = manager.id, manager.email
    other = app.test_client()
    AuthActions(other).login(email)
    assert other.get("/dashboard").status_code == 200
    sign_in("admin")
    page = client.get(f"/admin/users/{manager_id}").get_data(as_text=True)
    response = client.post(
        f"/admin/users/{manager_id}/deactivate",
        data={"csrf_token": csrf_from(page), "reason": "Left the company"},
    )
    assert response.status_code == 302
    assert other.get("/dashboard").status_code == 302  # back to sign-in
    assert AuthActions(other).login(email).status_code != 302  # and cannot sign in again


def test_an_organisation_is_created_renamed_and_a_duplicate_name_refused(app, client, sign_in):
    sign_in("admin")
    page = client.get("/admin/providers").get_data(as_text=True)
    token = csrf_from(page)
    assert (
        client.post("/admin/providers", data={"csrf_token": token, "name": "Lumen AI"}).status_code
        == 302
    )
    again = client.post("/admin/providers", data={"csrf_token": token, "name": "lumen ai"})
    assert again.status_code == 422 and 'value="lumen ai"' in again.get_data(as_text=True)
    with app.app_context():
        names = db.session.scalars(select(ProviderOrganisation.name)).all()
    assert names.count("Lumen AI") == 1 and "lumen ai" not in names


def test_a_user_created_on_the_command_line_is_among_the_recent_changes(app, client, sign_in):
    """`flask users create` writes the "user_created" row (and "provider_created" for a new
    organisation): /admin/users and /admin/providers no longer say "Nothing recorded yet"
    beside accounts the command made."""
    result = app.test_cli_runner().invoke(
        args=["users", "create", "cli-provider@example.com", "--name", "Cli Provider"]
        + ["--role", "provider", "--provider", "Cli Org", "--password"]
        + ["a-long-enough-passphrase-42"],
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == "cli-provider@example.com"))
    sign_in("admin")
    users_page = client.get("/admin/users").get_data(as_text=True)
    changes = users_page.split("Recent changes")[1]
    assert "Nothing recorded yet" not in changes
    assert "Command line (flask users create):" in changes
    assert "Created the account of" in changes and "cli-provider@example.com" in changes
    own = client.get(f"/admin/users/{user_id}").get_data(as_text=True)
    assert "Command line (flask users create):" in own.split('data-testid="user-history"')[1]
    providers_page = client.get("/admin/providers").get_data(as_text=True)
    assert "Command line (flask users create):" in providers_page.split("Recent changes")[1]
    assert "Cli Org" in providers_page.split("Recent changes")[1]


def test_the_demo_seeders_accounts_are_among_the_recent_changes(load_demo, client, auth):
    from tracker.demo.seed import DEMO_USERS, SEEDER_LABEL

    load_demo()
    auth.login("admin@example.com", "demo-password")
    changes = client.get("/admin/users").get_data(as_text=True).split("Recent changes")[1]
    assert changes.count(f"{SEEDER_LABEL}:") == len(DEMO_USERS)  # every demo account
    assert "priya@northwind.example" in changes
    providers = client.get("/admin/providers").get_data(as_text=True).split("Recent changes")[1]
    assert providers.count(f"{SEEDER_LABEL}:") == 2  # Northwind ML and Quanta Labs
