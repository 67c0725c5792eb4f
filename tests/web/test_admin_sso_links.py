"""The admin Users page shows which users are linked to which identity provider subject,
and an admin can unlink one (issue 28): audited, per user, admins only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from tests.conftest import csrf_from
from tests.factories import make_user
from tracker.extensions import db
from tracker.models import AuditEvent, SsoLink

ISSUER = "https://login.example.org/realms/acme"


def _link(user, subject: str, issuer: str = ISSUER) -> int:
    link = SsoLink(user_id=user.id, issuer=issuer, subject=subject, email_at_link=user.email)
    link.last_login_at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    db.session.add(link)
    db.session.commit()
    return link.id


@pytest.fixture
def linked(app):
    with app.app_context():
        dana = make_user("manager", email="dana@acme.example", name="Dana Linked")
        eli = make_user("manager", email="eli@acme.example", name="Eli Linked")
        ids = {
            "dana": dana.id,
            "eli": eli.id,
            "dana_link": _link(dana, "sub-dana-7f3a"),
            "eli_link": _link(eli, "sub-eli-11c2"),
            "dana_other": _link(dana, "dana@other", issuer="https://idp.other.example"),
        }
        db.session.remove()
    return ids


def _row(html: str, email: str) -> str:
    return html.split(f'data-email="{email}"')[1].split("</tr>")[0]


def test_the_users_page_shows_each_users_identity_provider_subjects(client, sign_in, linked):
    sign_in("admin")
    html = client.get("/admin/users").get_data(as_text=True)
    dana = _row(html, "dana@acme.example")
    assert "<th>Single sign-on</th>" in html
    # no issuer is configured in the tests: the link names its issuer URL
    assert f"{ISSUER}: <code>sub-dana-7f3a</code>" in dana
    assert "https://idp.other.example: <code>dana@other</code>" in dana
    assert "sub-eli-11c2" not in dana and "sub-eli-11c2" in _row(html, "eli@acme.example")


def test_the_configured_provider_is_named_by_its_name(app, client, sign_in, linked):
    app.config["OIDC_ISSUER"], app.config["OIDC_PROVIDER_NAME"] = ISSUER, "Acme Keycloak"
    try:
        sign_in("admin")
        html = client.get("/admin/users").get_data(as_text=True)
        page = client.get(f"/admin/users/{linked['dana']}").get_data(as_text=True)
    finally:
        del app.config["OIDC_ISSUER"], app.config["OIDC_PROVIDER_NAME"]
    assert "Acme Keycloak: <code>sub-dana-7f3a</code>" in _row(html, "dana@acme.example")
    table = page.split('data-testid="sso-links"')[1].split("</table>")[0]
    assert "Acme Keycloak <span" in table and ISSUER in table
    assert "(no longer configured)" in table  # the other issuer's link


def test_an_admin_unlinks_one_identity_and_the_trail_says_so(app, client, sign_in, linked):
    admin_id = sign_in("admin")
    page = client.get(f"/admin/users/{linked['dana']}").get_data(as_text=True)
    assert page.count('data-testid="sso-link"') == 2
    url = f"/admin/users/{linked['dana']}/sso-links/{linked['dana_link']}/unlink"
    response = client.post(url, data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302
    with app.app_context():
        left = db.session.scalars(select(SsoLink.subject).order_by(SsoLink.subject)).all()
        assert left == ["dana@other", "sub-eli-11c2"]
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.kind == "sso_unlinked"))
        assert event.actor_id == admin_id and event.engagement_id is None
        assert event.data["user_id"] == linked["dana"]
        assert (event.data["issuer"], event.data["subject"]) == (ISSUER, "sub-dana-7f3a")
    page = client.get(f"/admin/users/{linked['dana']}").get_data(as_text=True)
    assert page.count('data-testid="sso-link"') == 1
    history = page.split('data-testid="user-history"')[1]
    assert f"Unlinked dana@acme.example from the identity sub-dana-7f3a at {ISSUER}" in history


def test_another_users_link_or_a_missing_one_answers_404_and_stays(app, client, sign_in, linked):
    sign_in("admin")
    token = csrf_from(client.get("/admin/users").get_data(as_text=True))
    for url in (
        f"/admin/users/{linked['dana']}/sso-links/{linked['eli_link']}/unlink",
        f"/admin/users/{linked['dana']}/sso-links/999999/unlink",
    ):
        assert client.post(url, data={"csrf_token": token}).status_code == 404, url
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SsoLink)) == 3
        assert db.session.scalar(
            select(func.count()).where(AuditEvent.kind == "sso_unlinked")
        ) == 0  # fmt: skip


@pytest.mark.parametrize("role", ["manager", "provider", "stakeholder"])
def test_nobody_else_may_see_or_unlink(app, client, sign_in, linked, role):
    sign_in(role)
    url = f"/admin/users/{linked['dana']}/sso-links/{linked['dana_link']}/unlink"
    assert client.post(url, data={}).status_code in (400, 404)  # CSRF first, or no page
    assert client.get(f"/admin/users/{linked['dana']}").status_code == 404
    with app.app_context():
        assert db.session.get(SsoLink, linked["dana_link"]) is not None


def test_the_users_page_reads_the_links_in_one_query(app, client, sign_in, query_counter):
    sign_in("admin")
    client.get("/admin/users")
    with query_counter() as few:
        client.get("/admin/users")
    with app.app_context():
        for n in range(6):
            _link(make_user("manager", email=f"many{n}@acme.example"), f"sub-{n}")
        db.session.remove()
    with query_counter() as many:
        html = client.get("/admin/users").get_data(as_text=True)
    assert html.count("<code>sub-") == 6
    assert many.count == few.count, many.statements
