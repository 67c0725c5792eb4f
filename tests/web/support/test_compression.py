"""HTML gzipped for clients that accept it (web/support/compression.py).

The compressed pages are opened with zlib's own decoder (wbits=31, the gzip container),
not the gzip module the app writes them with.
"""

from __future__ import annotations

import zlib

from tests.factories import make_user


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
