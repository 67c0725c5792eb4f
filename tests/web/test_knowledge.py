"""Knowledge pages: the engagement panel, forms, errors naming fields, 404 for outsiders."""

from __future__ import annotations

import pytest

from tests.factories import add_member, make_engagement, make_user
from tracker.extensions import db
from tracker.models import Adr, ShadowAssignment
from tracker.services.knowledge import adrs


@pytest.fixture
def site(app):
    with app.app_context():
        manager = make_user("manager", email="boss@example.com")
        make_user("provider", provider="Quanta Labs", email="out@quanta.example")
        make_user("stakeholder", email="ivan@example.com", name="Ivan Petrov")
        engagement = make_engagement(manager, provider="Northwind ML", title="Churn handover")
        add_member(engagement, "Mara Quint", areas=("serving",))
        adr = adrs.create_adr(
            manager, engagement.id, {"title": "Use Feast", "context": "<script>alert(1)</script>"}
        )
        ids = {"engagement": engagement.id, "adr": adr.id}
        db.session.remove()
    return ids


def test_engagement_page_shows_the_panel(client, auth, site):
    auth.login("boss@example.com")
    page = client.get(f"/engagements/{site['engagement']}").get_data(as_text=True)
    assert 'data-testid="knowledge-panel"' in page
    assert "1. Use Feast" in page and 'data-testid="readiness-score"' in page


def test_adr_page_renders_markdown_inert(client, auth, site):
    auth.login("boss@example.com")
    page = client.get(f"/adrs/{site['adr']}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_forms_change_data_and_bad_input_names_the_field(client, auth, site, app):
    auth.login("boss@example.com")
    token = auth.csrf()
    e = site["engagement"]
    ok = client.post(
        f"/engagements/{e}/knowledge/adrs", data={"csrf_token": token, "title": "Use Ray"}
    )
    assert ok.status_code == 303
    bad = client.post(
        f"/engagements/{e}/knowledge/adrs",
        data={"csrf_token": token, "title": "x", "decided_on": "someday"},
    )
    assert bad.status_code == 422
    assert 'data-field="decided_on"' in bad.get_data(as_text=True)
    bad = client.post(
        f"/engagements/{e}/knowledge/shadows",
        data={"csrf_token": token, "member_id": "abc", "shadow_id": "1"},
    )
    assert bad.status_code == 422 and 'data-field="member_id"' in bad.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Adr).count() == 2
        assert db.session.query(ShadowAssignment).count() == 0


def test_other_provider_gets_404(client, auth, site):
    auth.login("out@quanta.example")
    assert client.get(f"/engagements/{site['engagement']}/knowledge").status_code == 404
    assert client.get(f"/adrs/{site['adr']}").status_code == 404
