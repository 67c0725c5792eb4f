"""The provider record pages: who may open which record, numbers linking to the
engagements behind them, cost only for who may see cost."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tests.factories import add_milestone, make_engagement, make_user
from tests.support.scheduler import day_pinned
from tracker.extensions import db
from tracker.models import ProviderOrganisation

TODAY = date.today()


@pytest.fixture(autouse=True)
def _on_today(app):
    """The app's clock on this module's TODAY, even if the run crosses midnight UTC."""
    day_pinned(app, TODAY)


@pytest.fixture
def provider_world(app):
    """Two Northwind engagements (one with a missed trial milestone), one at Quanta."""
    with app.app_context():
        owner = make_user("manager")
        first = make_engagement(owner, provider="Northwind ML", title="Churn model")
        second = make_engagement(owner, provider="Northwind ML", title="Fraud scoring")
        other = make_engagement(owner, provider="Quanta Labs", title="Quanta secret")
        for engagement in (first, second, other):
            engagement.trial_start = TODAY - timedelta(days=40)
            engagement.state = "trial"
        db.session.commit()
        add_milestone(second, days=-5, status="missed")
        ids = {
            "northwind": first.provider_id,
            "quanta": other.provider_id,
            "first": first.id,
            "second": second.id,
        }
        db.session.remove()
    return ids


@pytest.mark.parametrize("role", ["manager", "admin", "stakeholder"])
def test_client_side_roles_open_a_record(client, sign_in, provider_world, role):
    sign_in(role)
    response = client.get(f"/providers/{provider_world['northwind']}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Northwind ML" in html
    assert ("record-cost" in html) is (role != "stakeholder")


def test_a_provider_opens_its_own_record_and_no_other(client, sign_in, provider_world):
    sign_in("provider", provider="Northwind ML")
    own = client.get(f"/providers/{provider_world['northwind']}")
    assert own.status_code == 200 and "record-cost" not in own.get_data(as_text=True)
    other = client.get(f"/providers/{provider_world['quanta']}")
    missing = client.get("/providers/999999")
    assert other.status_code == missing.status_code == 404
    assert other.get_data() == missing.get_data()
    behind = client.get(f"/providers/{provider_world['quanta']}/engagements?figure=all")
    assert behind.status_code == 404 and b"Quanta secret" not in behind.get_data()
    assert (
        client.get("/providers")
        .headers["Location"]
        .endswith(f"/providers/{provider_world['northwind']}")
    )


def test_every_number_links_to_the_engagements_behind_it(client, sign_in, provider_world):
    sign_in("manager")
    html = client.get(f"/providers/{provider_world['northwind']}").get_data(as_text=True)
    links = set(re.findall(r'href="(/providers/\d+/engagements\?figure=[^"]+)"', html))
    assert any("figure=trial_missed" in link for link in links)
    for link in links:
        page = client.get(link.replace("&amp;", "&"))
        assert page.status_code == 200, link
    missed = client.get(
        f"/providers/{provider_world['northwind']}/engagements?figure=trial_missed"
    ).get_data(as_text=True)
    assert "Fraud scoring" in missed and "Churn model" not in missed
    everything = client.get(
        f"/providers/{provider_world['northwind']}/engagements?figure=all"
    ).get_data(as_text=True)
    assert "Fraud scoring" in everything and "Churn model" in everything
    assert "Quanta secret" not in everything


def test_an_unknown_figure_or_page_is_a_404(client, sign_in, provider_world):
    sign_in("manager")
    base = f"/providers/{provider_world['northwind']}/engagements"
    assert client.get(f"{base}?figure=nonsense").status_code == 404
    assert client.get(f"{base}?figure=all&page=0").status_code == 404
    assert client.get(f"{base}?figure=all&page=x").status_code == 404


def test_the_index_lists_organisations_with_visible_engagements(
    app, client, sign_in, provider_world
):
    sign_in("manager")
    html = client.get("/providers").get_data(as_text=True)
    assert "Northwind ML" in html and "Quanta Labs" in html
    with app.app_context():
        db.session.add(ProviderOrganisation(name="Idle Partners"))
        db.session.commit()
    assert "Idle Partners" not in client.get("/providers").get_data(as_text=True)


@pytest.mark.parametrize(
    ("role", "shown"), [("manager", True), ("stakeholder", True), ("provider", False)]
)
def test_nav_links_for_the_roles_that_may_see_the_pages(client, sign_in, role, shown):
    sign_in(role, provider="Northwind ML" if role == "provider" else None)
    html = client.get("/home").get_data(as_text=True)
    assert ('href="/portfolio"' in html) is shown
    assert 'href="/providers"' in html  # a provider's goes to its own record
