"""The portfolio page: three pictures that parse as XML with a data table each, the
dashboard's filters in the URL, spend only for who may see cost, providers 404."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from tests.factories import make_engagement, make_user
from tests.support.scheduler import day_pinned
from tracker.extensions import db

TODAY = date.today()


@pytest.fixture(autouse=True)
def _on_today(app):
    """The app's clock on this module's TODAY, even if the run crosses midnight UTC."""
    day_pinned(app, TODAY)


SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def two_owners(app):
    with app.app_context():
        alice, bob = (
            make_user("manager", name="Alice Owner"),
            make_user("manager", name="Bob Owner"),
        )
        for owner, provider in ((alice, "Northwind ML"), (bob, "Quanta Labs")):
            engagement = make_engagement(owner, provider=provider)
            engagement.trial_start = TODAY - timedelta(days=50)
            engagement.trial_end = engagement.trial_start + timedelta(days=90)
            engagement.state = "trial"
        db.session.commit()
        ids = {"alice": alice.id, "bob": bob.id}
        db.session.remove()
    return ids


def _svgs(html: str) -> dict[str, ET.Element]:
    found = {}
    for text in re.findall(r"<svg class=\"portfolio-chart.*?</svg>", html, re.S):
        root = ET.fromstring(text)
        kind = root.get("class").split()[1]
        found[kind] = root
    return found


def test_the_pictures_parse_and_each_has_its_table(client, sign_in, two_owners):
    sign_in("manager")
    response = client.get("/portfolio")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    svgs = _svgs(html)
    assert set(svgs) == {"health-area", "spend", "trials"}
    for root in svgs.values():
        assert root.get("role") == "img" and root.get("aria-label")
        assert root.find(f"{SVG}title").text == root.get("aria-label")
    bands = svgs["health-area"].findall(f"{SVG}polygon")
    assert [b.get("data-health") for b in bands] == ["green", "amber", "red"]
    assert len(svgs["spend"].findall(f"{SVG}g")) == 6
    for table in ("health-table", "spend-table", "trials-table"):
        assert f'data-testid="{table}"' in html


def test_filters_are_in_the_url_and_narrow_the_figures(client, sign_in, two_owners):
    sign_in("manager")
    everyone = client.get("/portfolio").get_data(as_text=True)
    alice = client.get(f"/portfolio?owner_id={two_owners['alice']}").get_data(as_text=True)

    def live_now(html):
        table = html.split('data-testid="health-table"')[1].split("</table>")[0]
        last_row = table.split("<tr>")[-1]
        return int(re.findall(r"<td>(\d+)</td>", last_row)[-1])

    assert live_now(everyone) >= 2 and live_now(alice) == 1
    assert 'name="owner" value="Alice Owner"' in alice  # the picker names the chosen owner
    by_name = client.get("/portfolio?owner=alice+owner").get_data(as_text=True)
    assert live_now(by_name) == 1 and 'name="owner" value="alice owner"' in by_name


def test_a_bad_filter_is_a_clear_4xx(client, sign_in, two_owners):
    sign_in("manager")
    response = client.get("/portfolio?state=nowhere")
    assert 400 <= response.status_code < 500 and b"state" in response.get_data()


def test_stakeholders_see_no_spend_and_providers_no_page(client, sign_in, two_owners):
    sign_in("stakeholder")
    html = client.get("/portfolio").get_data(as_text=True)
    assert "portfolio-health" in html and "portfolio-spend" not in html
    sign_in("provider", provider="Northwind ML")
    assert client.get("/portfolio").status_code == 404


def test_the_hiring_evaluation_page_is_for_who_may_see_cost(app, client, sign_in):
    from tests.factories import add_member
    from tracker.services.portfolio.hiring import open_due_evaluations

    app.config["HIRING_IN_HOUSE_MONTHLY"] = '{"ml_engineer": 9000}'
    with app.app_context():
        owner = make_user("manager")
        engagement = make_engagement(owner, provider="Northwind ML")
        engagement.trial_start = TODAY - timedelta(days=400)
        engagement.state = "extension"
        db.session.commit()
        add_member(engagement, "Mara Quint")
        open_due_evaluations()
        engagement_id = engagement.id
        db.session.remove()
    sign_in("manager")
    page = client.get(f"/engagements/{engagement_id}/hiring-evaluation")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Mara Quint" in html and "EUR 9,000" in html
    shown = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert 'data-testid="hiring-link"' in shown
    portfolio = client.get("/portfolio").get_data(as_text=True)
    assert f'href="/engagements/{engagement_id}/hiring-evaluation"' in portfolio
    sign_in("stakeholder")  # sees no cost: neither the list nor the page
    assert 'data-testid="portfolio-hiring"' not in client.get("/portfolio").get_data(as_text=True)
    sign_in("provider", provider="Northwind ML")
    assert client.get(f"/engagements/{engagement_id}/hiring-evaluation").status_code == 404
    theirs = client.get(f"/engagements/{engagement_id}")
    assert theirs.status_code == 200
    assert "Evaluate hiring" not in theirs.get_data(as_text=True)
    assert (
        b"Evaluate hiring"
        not in client.get(f"/engagements/{engagement_id}/checklist.csv").get_data()
    )


def test_the_largest_drift_lists_approved_slips_only_to_who_may_see_them(app, client, sign_in):
    from tests.factories import add_milestone
    from tracker.services.change_requests import service

    with app.app_context():
        owner, admin = make_user("manager"), make_user("admin")
        engagement = make_engagement(owner, title="Drifting pod")
        engagement.state = "trial"
        engagement.trial_start = engagement.period_start = TODAY
        engagement.trial_end = engagement.period_end = TODAY + timedelta(days=90)
        db.session.commit()
        milestone = add_milestone(engagement)
        to = (milestone.due_date + timedelta(days=12)).isoformat()
        change = {"target": "milestone", "id": milestone.id, "field": "due_date", "to": to}
        request = service.raise_request(owner, engagement.id, {"changes": [change], "why": "x"})
        service.approve(admin, request.id)
        db.session.remove()

    sign_in("manager")
    html = client.get("/portfolio").get_data(as_text=True)
    table = html.split('data-testid="drift-table"')[1].split("</table>")[0]
    assert "Drifting pod" in table and "<td>12 days</td>" in table and "Cost added" in table
    sign_in("stakeholder")  # not a stakeholder of it: neither the engagement nor any cost
    html = client.get("/portfolio").get_data(as_text=True)
    assert 'data-testid="portfolio-drift"' in html
    assert "Drifting pod" not in html and "Cost added" not in html
