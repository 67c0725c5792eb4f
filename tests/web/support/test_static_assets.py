"""Static files under content-versioned URLs, cached for a year (web/support/static_assets.py)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[3] / "tracker" / "web" / "static"


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


def test_every_page_names_its_icon_so_browsers_do_not_ask_for_a_missing_favicon_ico(client):
    """Without a <link rel="icon">, browsers fetch /favicon.ico, a 404 logged in the console."""
    import xml.etree.ElementTree as ET

    for page in ("/login", "/api/v1/docs"):
        html = client.get(page).get_data(as_text=True)
        icons = re.findall(
            r'<link rel="icon" href="(/static/favicon\.svg\?v=\w+)" type="image/svg\+xml">', html
        )
        assert len(icons) == 1, page
        with client.get(icons[0]) as icon:
            assert icon.status_code == 200
            assert icon.mimetype == "image/svg+xml"
            assert ET.fromstring(icon.get_data()).tag == "{http://www.w3.org/2000/svg}svg"
