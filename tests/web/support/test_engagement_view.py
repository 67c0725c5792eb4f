"""The engagement read model is built once per request, whichever sections ask for it."""

from __future__ import annotations

from tests.factories import add_member, make_engagement, make_user
from tracker.web.support import engagement_view as memo


def test_the_page_builds_the_engagement_view_once(app, client, auth, monkeypatch):
    with app.app_context():
        manager = make_user("manager")
        email = manager.email
        engagement = make_engagement(manager, title="Built once")
        add_member(engagement)
        engagement_id = engagement.id
    built = []
    real = memo.engagement_view

    def counting(engagement, today):
        built.append(engagement.id)
        return real(engagement, today)

    monkeypatch.setattr(memo, "engagement_view", counting)
    assert auth.login(email).status_code == 302
    page = client.get(f"/engagements/{engagement_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # the overview, the knowledge panel and the handover card each used it ...
    assert 'data-testid="knowledge-panel"' in html and 'id="access"' in html
    assert built == [engagement_id]  # ... and it was read once
    assert client.get(f"/engagements/{engagement_id}/knowledge").status_code == 200
    assert built == [engagement_id, engagement_id]  # a new request reads afresh


def test_row_urls_format_to_what_url_for_builds_for_each_id(app):
    """The page's per-row addresses, built once and formatted with a row's id, are the
    addresses url_for builds for that id (ids of every length, the endpoints' suffixes)."""
    from flask import url_for

    from tracker.web.engagements import ROW_ENDPOINTS

    with app.test_request_context("/"):
        urls = memo.row_urls(ROW_ENDPOINTS)
        assert urls.keys() == ROW_ENDPOINTS.keys()
        for name, (endpoint, argument) in ROW_ENDPOINTS.items():
            for row_id in (1, 42, 918273645, 10**12):
                assert urls[name].format(row_id) == url_for(endpoint, **{argument: row_id})
    with app.test_request_context("/", base_url="http://localhost/tracker"):  # mounted below /
        urls = memo.row_urls(ROW_ENDPOINTS)
        assert urls["edit_item"].format(7) == "/tracker/checklist/7/edit"
