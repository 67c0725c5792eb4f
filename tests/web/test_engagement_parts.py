"""The provider's weekly update, and the engagement page's constant query count."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from tests.factories import add_member, add_milestone, make_engagement, make_user
from tracker.extensions import db
from tracker.models import Milestone, MilestoneUpdate, TeamMember, User


@pytest.fixture
def milestone_id(app):
    with app.app_context():
        engagement = make_engagement(make_user("manager"), provider="Northwind ML")
        return add_milestone(engagement, days=10, title="Eval harness").id


def test_provider_updates_a_milestone_from_my_milestones(client, sign_in, post, app, milestone_id):
    sign_in("provider", provider="Northwind ML")
    page = client.get("/my-milestones").get_data(as_text=True)
    assert "Eval harness" in page and f'name="m{milestone_id}-status"' in page
    response = post(
        f"/milestones/{milestone_id}/update",
        {
            "from": "my_milestones",
            f"m{milestone_id}-status": "at_risk",
            f"m{milestone_id}-note": "Data late",
            f"m{milestone_id}-evidence": "https://wiki.example.com/x",
            f"m{milestone_id}-version": "1",
        },
        prefix=f"m{milestone_id}",
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/my-milestones#milestone-{milestone_id}")
    with app.app_context():
        milestone = db.session.get(Milestone, milestone_id)
        assert milestone.status == "at_risk"
        assert milestone.updates[0].evidence == ["https://wiki.example.com/x"]
        assert milestone.engagement.health == "amber"


def test_bad_evidence_link_keeps_the_note_and_saves_nothing(
    client, sign_in, post, app, milestone_id
):
    sign_in("provider", provider="Northwind ML")
    response = post(
        f"/milestones/{milestone_id}/update",
        {
            "from": "my_milestones",
            f"m{milestone_id}-status": "blocked",
            f"m{milestone_id}-note": "Typed note kept",
            f"m{milestone_id}-evidence": "not a link",
        },
        prefix=f"m{milestone_id}",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Typed note kept" in html and f'data-field="m{milestone_id}-evidence"' in html
    with app.app_context():
        assert db.session.get(Milestone, milestone_id).status == "planned"


def test_stale_milestone_update_is_refused(client, sign_in, post, app, milestone_id):
    sign_in("provider", provider="Northwind ML")
    with app.app_context():
        milestone = db.session.get(Milestone, milestone_id)
        milestone.title = "Renamed meanwhile"
        db.session.commit()
    response = post(
        f"/milestones/{milestone_id}/update",
        {f"m{milestone_id}-status": "met", f"m{milestone_id}-version": "1"},
        prefix=f"m{milestone_id}",
        follow_redirects=True,
    )
    assert "reload" in response.get_data(as_text=True).lower()
    with app.app_context():
        assert db.session.get(Milestone, milestone_id).status == "planned"


def _grow(app, engagement_id: int, rows: int) -> None:
    """More milestones (each with history), members and audit rows on one engagement."""
    with app.app_context():
        from tracker.models import Engagement

        engagement = db.session.get(Engagement, engagement_id)
        author = make_user("provider", provider="Northwind ML")
        for index in range(rows):
            milestone = add_milestone(engagement, days=5 + index)
            for status in ("on_track", "at_risk"):
                db.session.add(
                    MilestoneUpdate(
                        milestone_id=milestone.id,
                        author_id=author.id,
                        status=status,
                        created_at=datetime.now(UTC),
                    )
                )
            add_member(engagement, name=f"Member {index}")
        db.session.commit()


def test_engagement_page_query_count_is_constant(client, sign_in, app, query_counter):
    sign_in("manager")
    with app.app_context():
        engagement_id = make_engagement(make_user("manager")).id
    _grow(app, engagement_id, 1)
    with query_counter() as few:
        assert client.get(f"/engagements/{engagement_id}").status_code == 200
    _grow(app, engagement_id, 8)
    with query_counter() as many:
        html = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    with app.app_context():
        total = len(db.session.scalars(select(Milestone.id)).all())
    assert html.count('data-testid="milestone"') == total == 9
    assert many.count == few.count, many.statements


def test_bad_update_on_its_page_keeps_input_and_marks_only_the_bad_field(
    client, sign_in, post, app, milestone_id
):
    sign_in("provider", provider="Northwind ML")
    with app.app_context():
        engagement_id = db.session.get(Milestone, milestone_id).engagement_id
    response = post(
        f"/milestones/{milestone_id}/update",
        {
            f"m{milestone_id}-status": "blocked",
            f"m{milestone_id}-note": "Typed <note> kept",
            f"m{milestone_id}-evidence": "not a link",
            f"m{milestone_id}-version": "1",
        },
        prefix=f"m{milestone_id}",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    # the update's own page (the engagement page links it, issue 29), re-rendered
    assert 'id="milestone-update"' in html
    assert f'href="/engagements/{engagement_id}#milestone-{milestone_id}"' in html
    assert '<option selected value="blocked">Blocked</option>' in html
    assert "Typed &lt;note&gt; kept</textarea>" in html
    evidence = f'name="m{milestone_id}-evidence" placeholder="https://…" type="url"'
    assert f'{evidence} value="not a link" aria-invalid="true"' in html
    assert html.count('aria-invalid="true"') == 1
    assert 'aria-invalid="None"' not in html
    assert client.get(f"/engagements/{engagement_id}").status_code == 200


def test_the_team_form_without_a_role_answers_422_naming_it_and_adds_nobody(
    client, sign_in, post, app
):
    """The form's role select, posted without a choice, is refused beside the field."""
    manager_id = sign_in("manager")
    with app.app_context():
        engagement_id = make_engagement(db.session.get(User, manager_id)).id
    response = post(
        f"/engagements/{engagement_id}/members",
        {"member-name": "Ana", "member-allocation": "100"},
        prefix="member",
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "The team member was not added" in html
    role_field = html.split('id="member-role"')[1].split("</div>")[0]
    assert "Not a valid choice" in role_field
    with app.app_context():
        count = db.session.scalar(
            select(func.count())
            .select_from(TeamMember)
            .where(TeamMember.engagement_id == engagement_id)
        )
        assert count == 0


def test_the_status_update_is_a_page_of_its_own(client, sign_in, app, milestone_id):
    """The engagement page links each milestone's update page (issue 29) rather than
    carrying its form; the page answers the provider of the engagement only."""
    with app.app_context():
        engagement_id = db.session.get(Milestone, milestone_id).engagement_id
    sign_in("provider", provider="Northwind ML")
    page = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert f'href="/milestones/{milestone_id}/update"' in page
    assert f'name="m{milestone_id}-status"' not in page
    form = client.get(f"/milestones/{milestone_id}/update")
    html = form.get_data(as_text=True)
    assert form.status_code == 200
    assert f'action="/milestones/{milestone_id}/update"' in html
    assert '<option selected value="planned">Planned</option>' in html
    assert f'name="m{milestone_id}-version" value="1"' in html
    assert f'href="/engagements/{engagement_id}#milestone-{milestone_id}"' in html
    sign_in("provider", provider="Other Labs")  # another organisation: not there at all
    assert client.get(f"/milestones/{milestone_id}/update").status_code == 404
    assert client.get("/milestones/999999/update").status_code == 404
    sign_in("stakeholder")
    assert client.get(f"/milestones/{milestone_id}/update").status_code == 404


ADD_PAGES = {  # the link's test id, the form page, the address it posts to, a field on it
    "member": ("open-add-member", "/engagements/{e}/members/new", "/engagements/{e}/members"),
    "milestone": (
        "open-add-milestone",
        "/engagements/{e}/milestones/new",
        "/engagements/{e}/milestones",
    ),
    "health": ("open-health-override", "/engagements/{e}/health", "/engagements/{e}/health"),
}
ADD_FIELDS = {"member": "member-name", "milestone": "milestone-title", "health": "health-note"}


@pytest.mark.parametrize("kind", ADD_PAGES)
def test_rarely_used_forms_are_pages_of_their_own(client, sign_in, app, milestone_id, kind):
    """Adding a member, adding a milestone and overriding health (ADR 0258): the engagement
    page links each form's page rather than carrying the form; the page answers who may
    edit the engagement, 403 to who sees it but may not, 404 to who does not see it."""
    testid, page_url, action = ADD_PAGES[kind]
    with app.app_context():
        engagement_id = db.session.get(Milestone, milestone_id).engagement_id
    page_url, action = page_url.format(e=engagement_id), action.format(e=engagement_id)
    sign_in("manager")
    html = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert f'href="{page_url}" data-testid="{testid}"' in html
    assert f'name="{ADD_FIELDS[kind]}"' not in html  # the form is not on the page
    form = client.get(page_url)
    body = form.get_data(as_text=True)
    assert form.status_code == 200
    assert f'action="{action}"' in body and f'name="{ADD_FIELDS[kind]}"' in body
    assert f'href="/engagements/{engagement_id}#' in body  # the way back
    sign_in("provider", provider="Northwind ML")  # sees the engagement, may not edit it
    assert client.get(page_url).status_code == 403
    assert f'data-testid="{testid}"' not in client.get(f"/engagements/{engagement_id}").text
    sign_in("provider", provider="Other Labs")  # does not see it: as if it did not exist
    assert client.get(page_url).status_code == 404
    assert client.get(page_url.replace(str(engagement_id), "999999")).status_code == 404
