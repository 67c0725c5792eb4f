"""Static files under content-versioned URLs cached for a year; HTML gzipped on request.

The compressed pages are opened with zlib's own decoder (wbits=31, the gzip container),
not the gzip module the app writes them with.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from pathlib import Path

from tests.factories import make_user

STATIC = Path(__file__).resolve().parents[2] / "tracker" / "web" / "static"


def _static_urls(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', html)


def test_static_urls_carry_the_files_content_version(client):
    urls = _static_urls(client.get("/login").get_data(as_text=True))
    assert any(u.startswith("/static/app.css?v=") for u in urls), urls
    for url in urls:
        path, version = url.split("?v=")
        expected = hashlib.sha256((STATIC / path.removeprefix("/static/")).read_bytes())
        assert version == expected.hexdigest()[:12], url


def test_the_current_version_is_cached_for_a_year_and_any_other_is_revalidated(client):
    url = next(
        u for u in _static_urls(client.get("/login").get_data(as_text=True)) if "app.css" in u
    )
    with client.get(url) as current:
        assert current.status_code == 200
        assert current.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        content = current.get_data()
    for other in ("/static/app.css", "/static/app.css?v=000000000000"):
        with client.get(other) as response:
            assert response.status_code == 200
            assert response.headers["Cache-Control"] == "no-cache"
            assert response.get_data() == content
    with client.get("/static/nope.css?v=1") as missing:
        assert missing.status_code == 404


def test_html_is_gzipped_for_clients_that_accept_it(app, client, auth):
    with app.app_context():
        email = make_user("manager").email
    auth.login(email)
    plain = client.get("/dashboard")
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]
    packed = client.get("/dashboard", headers={"Accept-Encoding": "gzip, deflate"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    body = packed.get_data()
    assert int(packed.headers["Content-Length"]) == len(body) < len(plain.get_data()) / 2
    opened = zlib.decompress(body, wbits=31).decode()
    # the same page (the CSRF token differs between two renders)
    assert opened.startswith("<!doctype html>") and 'data-testid="engagement-table"' in opened
    refused = client.get("/dashboard", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers


def test_json_small_pages_and_files_are_left_alone(app, client, auth):
    with app.app_context():
        email = make_user("manager").email
    auth.login(email)
    gz = {"Accept-Encoding": "gzip"}
    assert "Content-Encoding" not in client.get("/api/v1/me", headers=gz).headers
    assert "Content-Encoding" not in client.get("/healthz", headers=gz).headers
    with client.get("/static/app.css", headers=gz) as css:
        assert "Content-Encoding" not in css.headers
