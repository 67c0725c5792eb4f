"""A list's row links built once a page (web/support/row_links.py)."""

from __future__ import annotations

from flask import url_for

from tracker.web.support.row_links import row_urls, url_by_id


def test_each_id_gets_the_link_url_for_builds(app):
    with app.test_request_context("/dashboard"):
        for endpoint in ("engagements.show", "evidence.show_scorecard"):
            link = url_by_id(endpoint, "engagement_id")
            for engagement_id in (1, 7, 10_007, 2_147_483_646):
                built = url_for(endpoint, engagement_id=engagement_id)
                assert link(engagement_id) == built
        assert url_by_id("engagements.show", "engagement_id")("12") == "/engagements/12"


def test_an_id_in_the_query_string_is_placed_as_url_for_places_it(app):
    with app.test_request_context("/dashboard"):
        link = url_by_id("landing.dashboard", "page")
        assert link(3) == url_for("landing.dashboard", page=3) == "/dashboard?page=3"


def test_row_urls_format_to_what_url_for_builds_for_each_id(app):
    """The page's per-row addresses, built once and formatted with a row's id, are the
    addresses url_for builds for that id (ids of every length, the endpoints' suffixes)."""
    from tracker.web.engagements import ROW_ENDPOINTS

    with app.test_request_context("/"):
        urls = row_urls(ROW_ENDPOINTS)
        assert urls.keys() == ROW_ENDPOINTS.keys()
        for name, (endpoint, argument) in ROW_ENDPOINTS.items():
            for row_id in (1, 42, 918273645, 10**12):
                assert urls[name].format(row_id) == url_for(endpoint, **{argument: row_id})
    with app.test_request_context("/", base_url="http://localhost/tracker"):  # mounted below /
        urls = row_urls(ROW_ENDPOINTS)
        assert urls["edit_item"].format(7) == "/tracker/checklist/7/edit"
