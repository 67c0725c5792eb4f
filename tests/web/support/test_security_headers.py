"""Security headers on pages, API answers, errors and redirects; HSTS only over HTTPS."""

from __future__ import annotations

import re

import pytest

from tests.factories import make_user
from tracker.web.support.security_headers import CONTENT_SECURITY_POLICY

INLINE_STYLE = re.compile(r"\sstyle=|<style", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE)


def _assert_common(response):
    headers = response.headers
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("path", ["/login", "/healthz", "/api/v1/engagements", "/nowhere", "/"])
def test_every_kind_of_answer_carries_the_headers(client, path):
    response = client.get(path)
    _assert_common(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers


def test_signed_in_pages_and_api_answers_are_not_stored(app, client, auth):
    with app.app_context():
        email = make_user("manager").email
    auth.login(email)
    for path in ("/dashboard", "/engagements", "/api/v1/me", "/api/v1/docs"):
        response = client.get(path)
        assert response.status_code == 200, path
        _assert_common(response)
        assert response.headers["Cache-Control"] == "no-store"


def test_static_files_stay_cacheable(client):
    response = client.get("/static/app.css")
    response.close()  # the file handle of a streamed static response
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_hsts_only_when_cookies_are_secure(make_app):
    secure = make_app(SESSION_COOKIE_SECURE=True).test_client().get("/login")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_swagger_ui_has_no_inline_script(client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "swagger-init.js" in page and 'data-spec-url="/api/v1/openapi.json"' in page
    assert not INLINE_SCRIPT.search(page)


def test_templates_have_no_inline_script_or_style():
    from pathlib import Path

    root = Path(__file__).resolve().parents[3] / "tracker" / "web" / "templates"
    offenders = []
    for template in root.rglob("*.html"):
        if template.parent.name == "email":
            continue  # mail bodies: inline styles for mail clients, framed under their own policy
        text = template.read_text()
        if INLINE_STYLE.search(text) or INLINE_SCRIPT.search(text):
            offenders.append(template.name)
    assert offenders == []


def test_email_bodies_are_framed_under_their_own_policy(app, client, auth):
    from tracker.extensions import db
    from tracker.services.messaging.outbox import enqueue
    from tracker.web.support.security_headers import FRAMED_EMAIL_POLICY

    with app.app_context():
        email = make_user("admin").email
        row = enqueue("frame:1", "x@example.com", "Hello", "text", '<p style="color:red">hi</p>')
        db.session.commit()
        row_id = row.id
    auth.login(email)
    page = client.get(f"/admin/outbox/{row_id}").get_data(as_text=True)
    assert f'src="/admin/outbox/{row_id}/html"' in page and "srcdoc" not in page
    body = client.get(f"/admin/outbox/{row_id}/html")
    assert body.status_code == 200 and b'style="color:red"' in body.data
    assert body.headers["Content-Security-Policy"] == FRAMED_EMAIL_POLICY
    assert body.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "script-src" not in FRAMED_EMAIL_POLICY and "sandbox" in FRAMED_EMAIL_POLICY
    assert client.get("/admin/outbox/999999/html").status_code == 404


def test_digest_preview_frames_its_body(app, client, auth):
    with app.app_context():
        email = make_user("manager").email
    auth.login(email)
    page = client.get("/digests/preview").get_data(as_text=True)
    assert 'src="/digests/preview/html"' in page
    body = client.get("/digests/preview/html")
    assert body.status_code == 200 and "<html" in body.get_data(as_text=True).lower()
    assert "frame-ancestors 'self'" in body.headers["Content-Security-Policy"]
