"""Each page answers every role correctly: status codes, redirects, who sees what."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import add_milestone, make_engagement, make_user
from tracker.extensions import db
from tracker.models import Engagement, Milestone, User


@pytest.fixture
def world(app):
    """Two providers' engagements; a stakeholder who follows only the first."""
    with app.app_context():
        owner = make_user("manager")
        ours = make_engagement(owner, provider="Northwind ML", title="Northwind fraud model")
        theirs = make_engagement(owner, provider="Quanta Labs", title="Quanta vision pod")
        add_milestone(ours, title="Ours day-30")
        add_milestone(theirs, title="Theirs day-30")
        follower = make_user("stakeholder")
        db.session.get(Engagement, ours.id).followers.append(db.session.get(User, follower.id))
        db.session.commit()
        return {"ours": ours.id, "theirs": theirs.id, "follower": follower.email}


@pytest.mark.parametrize(
    ("role", "target"),
    [
        ("manager", "/dashboard"),
        ("admin", "/dashboard"),
        ("stakeholder", "/dashboard"),
        ("provider", "/my-milestones"),
    ],
)
def test_root_sends_each_role_to_its_home(client, sign_in, role, target):
    sign_in(role)
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(target)


def test_pages_need_sign_in(client):
    for path in ("/dashboard", "/engagements", "/my-milestones", "/engagements/new"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        ("manager", "/dashboard", 200),
        ("stakeholder", "/dashboard", 200),
        ("provider", "/dashboard", 302),
        ("provider", "/engagements", 200),
        ("provider", "/my-milestones", 200),
        ("manager", "/engagements/new", 200),
        ("admin", "/engagements/new", 200),
        ("stakeholder", "/engagements/new", 403),
        ("provider", "/engagements/new", 403),
        ("manager", "/engagements/{ours}", 200),
        ("manager", "/engagements/{theirs}", 200),
        ("provider", "/engagements/{ours}", 200),
        ("provider", "/engagements/{theirs}", 404),
        ("stakeholder", "/engagements/{ours}", 404),  # a new stakeholder follows nothing
        ("manager", "/engagements/{ours}/edit", 200),
        ("provider", "/engagements/{ours}/edit", 403),
        ("provider", "/engagements/{theirs}/edit", 404),
        ("manager", "/engagements/999999", 404),
    ],
)
def test_page_status_per_role(client, sign_in, world, role, path, status):
    sign_in(role, provider="Northwind ML" if role == "provider" else None)
    response = client.get(path.format(**world), headers={"Accept": "text/html"})
    assert response.status_code == status


def test_following_stakeholder_sees_the_page_without_any_form_or_cost(client, auth, world):
    auth.login(world["follower"])
    response = client.get(f"/engagements/{world['ours']}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Northwind fraud model" in html
    assert "<form" not in html.split("<main", 1)[1].split("</main>")[0]
    assert 'data-testid="cost"' not in html and "Internal notes" not in html


def test_manager_sees_cost_and_transition_buttons(client, sign_in, world):
    sign_in("manager")
    html = client.get(f"/engagements/{world['ours']}").get_data(as_text=True)
    assert 'data-testid="cost"' in html and 'data-testid="cost-to-date"' in html
    assert 'data-testid="transition-start_trial"' in html
    assert 'data-testid="diagram"' in html and "<svg" in html
    assert 'class="timeline"' in html


def test_provider_lists_only_their_organisation(client, sign_in, world):
    sign_in("provider", provider="Northwind ML")
    html = client.get("/engagements").get_data(as_text=True)
    assert "Northwind fraud model" in html
    assert "Quanta" not in html
    milestones = client.get("/my-milestones").get_data(as_text=True)
    assert "Ours day-30" in milestones and "Theirs day-30" not in milestones


def test_provider_cannot_update_another_providers_milestone(client, sign_in, post, world, app):
    sign_in("provider", provider="Northwind ML")
    with app.app_context():
        milestone_id = db.session.scalar(
            select(Milestone.id).where(Milestone.engagement_id == world["theirs"])
        )
    response = post(
        f"/milestones/{milestone_id}/update",
        {f"m{milestone_id}-status": "met"},
        prefix=f"m{milestone_id}",
        headers={"Accept": "text/html"},
    )
    assert response.status_code == 404


def test_stakeholder_cannot_see_dashboard_rows_they_do_not_follow(client, auth, world):
    auth.login(world["follower"])
    html = client.get("/dashboard").get_data(as_text=True)
    assert "Northwind fraud model" in html and "Quanta vision pod" not in html


def test_errors_are_styled_pages(client, sign_in):
    sign_in("manager")
    response = client.get("/engagements/424242", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "We could not find that page" in response.get_data(as_text=True)
