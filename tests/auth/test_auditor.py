"""The auditor role (issue 28, ADR 0228): reads every engagement, its audit trail with the
change details and the deployment's audit export; changes nothing."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from tests.factories import add_milestone, make_engagement, make_user
from tracker.auth.permissions import Action, can
from tracker.extensions import db
from tracker.models import Engagement, User
from tracker.services.administration import users as user_service


@pytest.fixture
def audited(app):
    """Two providers' engagements (the auditor follows neither) and tokens."""
    with app.app_context():
        manager = make_user("manager", email="m-audit@example.com")
        auditor = make_user("auditor", email="auditor@example.com", name="Ada Auditor")
        northwind = make_engagement(manager, provider="Northwind ML", title="Fraud model")
        quanta = make_engagement(manager, provider="Quanta Labs", title="Vision QA")
        milestone = add_milestone(northwind)
        ids = {
            "northwind": northwind.id,
            "quanta": quanta.id,
            "milestone": milestone.id,
            "auditor_token": user_service.create_token(auditor, "audit")[1],
            "manager_token": user_service.create_token(manager, "m")[1],
        }
        db.session.remove()
    return ids


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_the_permissions_read_everything_and_allow_nothing_else(app, audited):
    with app.app_context():
        auditor = db.session.scalar(select(User).where(User.email == "auditor@example.com"))
        for engagement in db.session.scalars(select(Engagement)):
            assert can(auditor, Action.VIEW, engagement)
            assert can(auditor, Action.VIEW_COST, engagement)
            for action in set(Action) - {Action.VIEW, Action.VIEW_COST}:
                assert not can(auditor, action, engagement), action
        assert auditor.can_export_audit and not auditor.is_client_side


def test_an_auditor_reads_every_engagement_and_its_trail_with_details(client, audited):
    headers = _bearer(audited["auditor_token"])
    listed = client.get("/api/v1/engagements?per_page=50", headers=headers).get_json()
    assert {e["id"] for e in listed["items"]} >= {audited["northwind"], audited["quanta"]}
    detail = client.get(f"/api/v1/engagements/{audited['quanta']}", headers=headers)
    assert detail.status_code == 200 and "monthly_cost" in detail.get_json()
    trail = client.get(f"/api/v1/engagements/{audited['northwind']}/audit", headers=headers)
    assert trail.status_code == 200


def test_an_auditor_changes_nothing(client, audited):
    headers = _bearer(audited["auditor_token"])
    engagement = f"/api/v1/engagements/{audited['northwind']}"
    assert client.patch(engagement, json={"title": "Renamed"}, headers=headers).status_code == 403
    update = client.post(
        f"/api/v1/milestones/{audited['milestone']}/updates",
        json={"status": "at_risk", "note": "x"},
        headers=headers,
    )
    assert update.status_code == 403
    created = client.post(
        "/api/v1/engagements",
        json={"title": "New", "provider_id": 1, "structure": "pod_2"},
        headers=headers,
    )
    assert created.status_code == 403
    assert client.get(engagement, headers=headers).get_json()["title"] == "Fraud model"


def test_an_auditor_exports_the_deployment_trail_a_manager_cannot(client, audited):
    body = client.get("/api/v1/audit/export.csv", headers=_bearer(audited["auditor_token"]))
    assert body.status_code == 200
    rows = list(csv.reader(io.StringIO(body.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) > 2  # the header and the two engagements' creation, at least
    manager = client.get("/api/v1/audit/export.csv", headers=_bearer(audited["manager_token"]))
    assert manager.status_code == 404


def test_the_audit_export_page_is_the_auditors_only_admin_page(client, auth, audited):
    auth.login("auditor@example.com")
    page = client.get("/admin/audit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # the actor is a picker whose suggestions are fetched (issue 29), the auditor among them
    assert 'data-choices="/admin/audit/actors"' in html
    actors = client.get("/admin/audit/actors?q=ada").get_json()["items"]
    assert "Ada Auditor <auditor@example.com>" in actors
    assert 'href="/admin/audit"' in html  # in the navigation
    download = client.get("/admin/audit/export.jsonl")
    assert download.status_code == 200
    for path in ("/admin/users", "/admin/outbox", "/admin/providers", "/admin/workflows"):
        assert client.get(path).status_code == 404, path
    engagement = client.get(f"/engagements/{audited['northwind']}").get_data(as_text=True)
    assert "Fraud model" in engagement
    assert 'data-testid="open-add-metric"' not in engagement  # no form to change anything
    assert f'action="/milestones/{audited["milestone"]}/update"' not in engagement
    assert f'href="/milestones/{audited["milestone"]}/update"' not in engagement  # nor a link


def test_an_admin_invites_an_auditor_and_the_document_lists_the_role(client, app):
    with app.app_context():
        admin = make_user("admin", email="root-audit@example.com")
        token = user_service.create_token(admin, "a")[1]
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "auditor" in spec["components"]["schemas"]["UserCreate"]["properties"]["role"]["enum"]
    created = client.post(
        "/api/v1/users",
        json={"email": "new-auditor@example.com", "name": "Ines Audit", "role": "auditor"},
        headers=_bearer(token),
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["role"] == "auditor"


def test_flask_users_create_makes_an_auditor(app):
    """`flask users create --role auditor` offers every role the service accepts."""
    result = app.test_cli_runner().invoke(
        args=["users", "create", "cli-auditor@example.com", "--name", "Cli Auditor"]
        + ["--role", "auditor", "--password", "a-long-enough-passphrase-42"],
    )
    assert result.exit_code == 0, result.output
    assert "Created auditor cli-auditor@example.com" in result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "cli-auditor@example.com"))
        assert user is not None and user.role == "auditor"
        db.session.delete(user)
        db.session.commit()


def test_the_auditors_navigation_lists_the_pages_they_may_read(client, auth, audited):
    """The auditor reads the portfolio, the providers' records, their digests, calendar and
    API tokens (the export's API needs one): the navigation links each, and each answers."""
    auth.login("auditor@example.com")
    html = client.get("/dashboard").get_data(as_text=True)
    # The header's navigation: its main row and, for an admin, the administration row.
    nav = "".join(part.split("</nav>")[0] for part in html.split('<nav class="nav')[1:])
    assert 'aria-label="Main"' in nav
    for path in ("/dashboard", "/portfolio", "/providers", "/digests/", "/calendar", "/tokens"):
        assert f'href="{path}"' in nav, path
        assert client.get(path).status_code == 200, path
    assert 'href="/admin/users"' not in nav
