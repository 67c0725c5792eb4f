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
