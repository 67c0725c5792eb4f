"""Template filters: times say which zone they are in."""

from __future__ import annotations

from datetime import UTC, datetime

from tracker.web.support.filters import format_datetime


def test_a_time_names_its_zone(app):
    instant = datetime(2026, 3, 3, 13, 5, tzinfo=UTC)
    with app.test_request_context():
        assert format_datetime(instant, "Europe/Helsinki") == "3 Mar 2026 15:05 EET"
        assert format_datetime(instant, "UTC") == "3 Mar 2026 13:05 UTC"
        assert format_datetime(None) == ""


def test_every_page_has_a_skip_link_to_the_main_content(client, sign_in):
    sign_in("manager")
    html = client.get("/dashboard").get_data(as_text=True)
    body = html.split("<body>", 1)[1]
    assert body.lstrip().startswith('<a class="skip-link" href="#main">')
    assert '<main class="page" id="main"' in html
