"""Change request pages (issue 31): a refused direct edit links to raising a request and keeps
what was typed; raise (from → to shown), compare, approve, reject with a reason, withdraw."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.factories import add_member, add_milestone, make_engagement
from tests.support.scheduler import day_pinned
from tracker.extensions import db
from tracker.models import ChangeRequest, Milestone, User

TODAY = date.today()


@pytest.fixture(autouse=True)
def _on_today(app):
    """The app's clock on this module's TODAY, even if the run crosses midnight UTC."""
    day_pinned(app, TODAY)


@pytest.fixture
def trial(app, sign_in):
    """A manager signed in who owns an engagement in its trial with one milestone."""
    manager_id = sign_in("manager")
    with app.app_context():
        engagement = make_engagement(db.session.get(User, manager_id), title="Fraud model")
        engagement.state = "trial"
        engagement.trial_start = engagement.period_start = TODAY
        engagement.trial_end = engagement.period_end = TODAY + timedelta(days=90)
        db.session.commit()
        milestone = add_milestone(engagement, title="Day 30")
        add_member(engagement)
        return engagement.id, milestone.id, milestone.version


def test_a_refused_milestone_edit_keeps_the_typing_and_links_to_a_change_request(
    app, client, post, trial
):
    eid, mid, version = trial
    typed = (TODAY + timedelta(days=44)).isoformat()
    response = post(
        f"/milestones/{mid}/edit",
        {
            f"edit{mid}-title": "Day 30",
            f"edit{mid}-due_date": typed,
            f"edit{mid}-success_criteria": "Metric +5%",
            f"edit{mid}-version": str(version),
        },
    )
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert f'value="{typed}"' in html
    assert "needs a change request in Trial" in html
    assert f'href="/engagements/{eid}/change-requests/new"' in html
    with app.app_context():
        assert db.session.get(Milestone, mid).due_date == TODAY + timedelta(days=30)


def test_raise_compare_and_approve_through_the_pages(app, client, post, trial, sign_in):
    eid, mid, _ = trial
    page = client.get(f"/engagements/{eid}/change-requests/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    name = f"to:milestone:{mid}:due_date"
    assert f'name="{name}"' in html and (TODAY + timedelta(days=30)).isoformat() in html
    later = (TODAY + timedelta(days=52)).isoformat()
    refused = post(f"/engagements/{eid}/change-requests/new", {name: later, "why": ""})
    assert refused.status_code == 422
    assert f'value="{later}"' in refused.get_data(as_text=True)
    assert "Say why the change is needed." in refused.get_data(as_text=True)
    raised = post(
        f"/engagements/{eid}/change-requests/new",
        {name: later, "why": "Labels late", "cost_delta_monthly": "1500"},
    )
    assert raised.status_code == 303
    with app.app_context():
        request = db.session.scalars(db.select(ChangeRequest)).one()
        rid = request.id
    shown = client.get(f"/change-requests/{rid}").get_data(as_text=True)
    assert (TODAY + timedelta(days=30)).isoformat() in shown and later in shown
    assert 'data-testid="approve"' not in shown  # whoever raised it does not decide it
    refused = post(f"/change-requests/{rid}/approve")
    assert refused.status_code == 403
    sign_in("admin")  # an admin decides
    assert 'data-testid="approve"' in client.get(f"/change-requests/{rid}").get_data(as_text=True)
    approved = post(f"/change-requests/{rid}/approve")
    assert approved.status_code == 303
    with app.app_context():
        assert db.session.get(Milestone, mid).due_date.isoformat() == later
        assert db.session.get(ChangeRequest, rid).state == "approved"
    engagement_page = client.get(f"/engagements/{eid}").get_data(as_text=True)
    assert 'id="change-requests"' in engagement_page
    assert "<strong>22</strong> days of slip" in engagement_page


def test_reject_needs_a_reason_on_the_page_and_withdraw_is_offered_to_whoever_raised_it(
    app, client, post, trial, sign_in
):
    eid, mid, _ = trial
    name = f"to:milestone:{mid}:due_date"
    later = (TODAY + timedelta(days=40)).isoformat()
    for _ in range(2):
        post(f"/engagements/{eid}/change-requests/new", {name: later, "why": "Scope"})
    with app.app_context():
        first, second = db.session.scalars(db.select(ChangeRequest.id).order_by(ChangeRequest.id))
    withdrawn = post(f"/change-requests/{second}/withdraw")
    assert withdrawn.status_code == 303
    sign_in("admin")
    refused = post(f"/change-requests/{first}/reject", {"reason": " "})
    assert refused.status_code == 422
    assert "Give a reason" in refused.get_data(as_text=True)
    assert post(f"/change-requests/{first}/reject", {"reason": "Not in budget"}).status_code == 303
    listing = client.get(f"/engagements/{eid}/change-requests").get_data(as_text=True)
    assert listing.count('data-testid="cr-row"') == 2
    assert "Rejected" in listing and "Withdrawn" in listing
    with app.app_context():
        assert db.session.get(Milestone, mid).due_date == TODAY + timedelta(days=30)
