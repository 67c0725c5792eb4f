"""Forms: bad input re-renders with messages and typed values; stale edits are refused."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import add_member, add_milestone, complete_checklist, make_engagement
from tracker.extensions import db
from tracker.models import ChecklistItem, Engagement, Milestone, User
from tracker.services import engagements as engagement_service


@pytest.fixture
def manager(sign_in):
    return sign_in("manager")


@pytest.fixture
def engagement_id(app, manager):
    with app.app_context():
        owner = db.session.get(User, manager)
        return make_engagement(owner, title="Forecasting pod").id


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _provider_id(app) -> int:
    with app.app_context():
        from tracker.services.users import get_or_create_provider

        provider = get_or_create_provider("Northwind ML")
        db.session.commit()
        return provider.id


def test_create_engagement_with_errors_keeps_what_was_typed(client, app, manager, post):
    provider_id = _provider_id(app)
    before = _count(app, Engagement)
    response = post(
        "/engagements/new",
        {
            "title": "",
            "provider_id": str(provider_id),
            "structure": "pod_2",
            "owner_id": str(manager),
            "problem_statement": "Typed problem statement survives",
            "monthly_cost": "lots",
            "currency": "EUR",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Typed problem statement survives" in html
    assert 'data-field="title"' in html and 'data-field="monthly_cost"' in html
    assert 'value="lots"' in html
    assert _count(app, Engagement) == before


def test_create_engagement_then_page_lists_every_unmet_start_requirement(
    client, app, manager, post
):
    response = post(
        "/engagements/new",
        {
            "title": "Invoice triage",
            "provider_id": str(_provider_id(app)),
            "structure": "single_specialist",
            "owner_id": str(manager),
            "monthly_cost": "20000",
            "currency": "eur",
        },
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "created in discovery" in html
    with app.app_context():
        engagement = db.session.scalar(
            select(Engagement).where(Engagement.title == "Invoice triage")
        )
        assert engagement.currency == "EUR"
        items = db.session.scalars(
            select(ChecklistItem).where(
                ChecklistItem.engagement_id == engagement.id,
                ChecklistItem.kind.in_(["prerequisite", "placement"]),
            )
        ).all()
    unmet = html.split('data-testid="unmet-start_trial"')[1].split("</ul>")[0]
    fixed_on = {"problem_statement": "/edit", "technical_contact": "/edit"}
    fixed_on["engagement_window"] = "#milestones"
    for item in items:
        # A bound item links to where its fact is fixed; a manual one to the item.
        target = fixed_on.get(item.key, f"#checklist-{item.id}")
        if target == "/edit":
            target = f"/engagements/{engagement.id}/edit"
        assert f'href="{target}"' in unmet
        assert f'id="checklist-{item.id}"' in html
    assert 'data-code="team_empty"' in unmet and 'href="#team"' in unmet
    assert 'data-code="milestone_without_criteria"' in unmet


def test_unknown_provider_is_reported_next_to_the_field(client, app, manager, post):
    _provider_id(app)
    response = post(
        "/engagements/new",
        {
            "title": "X",
            "provider_id": "98765",
            "structure": "pod_2",
            "owner_id": str(manager),
            "monthly_cost": "1",
            "currency": "EUR",
        },
    )
    assert response.status_code == 422
    assert 'data-field="provider_id"' in response.get_data(as_text=True)


def _edit_form(engagement: Engagement, **changes) -> dict:
    data = {
        "title": engagement.title,
        "provider_id": str(engagement.provider_id),
        "structure": engagement.structure,
        "owner_id": str(engagement.owner_id),
        "monthly_cost": str(engagement.monthly_cost),
        "currency": engagement.currency,
        "version": str(engagement.version),
    }
    data.update(changes)
    return data


def test_edit_saves_with_the_current_version(client, app, engagement_id, post):
    with app.app_context():
        data = _edit_form(db.session.get(Engagement, engagement_id), title="Renamed pod")
    response = post(f"/engagements/{engagement_id}/edit", data)
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Engagement, engagement_id).title == "Renamed pod"


def test_stale_edit_is_refused_not_overwritten(client, app, manager, engagement_id, post):
    with app.app_context():
        data = _edit_form(db.session.get(Engagement, engagement_id), title="My rename")
        someone = db.session.get(Engagement, engagement_id).owner
        engagement_service.update_engagement(someone, engagement_id, {"title": "Their rename"})
    response = post(f"/engagements/{engagement_id}/edit", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 412
    assert "Someone changed this engagement" in html
    assert 'value="My rename"' in html  # what the user typed is kept to copy from
    with app.app_context():
        assert db.session.get(Engagement, engagement_id).title == "Their rename"


def test_start_trial_refused_changes_nothing_then_succeeds(client, app, engagement_id, post):
    response = post(
        f"/engagements/{engagement_id}/transitions/start_trial", {}, prefix="t-start_trial"
    )
    assert response.status_code == 302
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement.state == "discovery"
        for kind in ("prerequisite", "placement"):
            complete_checklist(engagement, kind)
        add_member(engagement)
        add_milestone(engagement, days=20)
        version = engagement.version
    response = post(
        f"/engagements/{engagement_id}/transitions/start_trial",
        {"t-start_trial-version": str(version)},
        prefix="t-start_trial",
        follow_redirects=True,
    )
    assert "Start the trial: done." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Engagement, engagement_id).state == "trial"
        titles = db.session.scalars(
            select(Milestone.title).where(Milestone.engagement_id == engagement_id)
        ).all()
    assert len(titles) == 4


def test_transition_input_errors_show_next_to_the_field(client, app, engagement_id, post):
    response = post(
        f"/engagements/{engagement_id}/transitions/terminate",
        {"t-terminate-reason": "   "},
        prefix="t-terminate",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-field="t-terminate-reason"' in html
    with app.app_context():
        assert db.session.get(Engagement, engagement_id).state == "discovery"


def test_checklist_complete_and_reopen(client, app, engagement_id, post):
    with app.app_context():
        item_id = db.session.scalar(
            select(ChecklistItem.id).where(ChecklistItem.engagement_id == engagement_id)
        )
    assert (
        post(f"/checklist/{item_id}/complete", {"status": "done", "note": "ok"}).status_code == 302
    )
    with app.app_context():
        assert db.session.get(ChecklistItem, item_id).status == "done"
    assert post(f"/checklist/{item_id}/reopen", {}).status_code == 302
    with app.app_context():
        assert db.session.get(ChecklistItem, item_id).status == "open"


def test_team_member_with_bad_allocation_keeps_the_name(client, app, engagement_id, post):
    response = post(
        f"/engagements/{engagement_id}/members",
        {"member-name": "Kenji Sato", "member-role": "data_engineer", "member-allocation": "250"},
        prefix="member",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="Kenji Sato"' in html and 'data-field="member-allocation"' in html
    ok = post(
        f"/engagements/{engagement_id}/members",
        {
            "member-name": "Kenji Sato",
            "member-role": "data_engineer",
            "member-allocation": "50",
            "member-areas": "ingestion, dbt",
            "member-is_external": "y",
        },
        prefix="member",
    )
    assert ok.status_code == 302
    with app.app_context():
        member = db.session.get(Engagement, engagement_id).members[0]
        assert (member.name, member.allocation, member.areas) == (
            "Kenji Sato",
            50,
            ["ingestion", "dbt"],
        )


def test_milestone_form_needs_criteria(client, app, engagement_id, post):
    response = post(
        f"/engagements/{engagement_id}/milestones",
        {"milestone-title": "Baseline", "milestone-due_date": date.today().isoformat()},
        prefix="milestone",
    )
    assert response.status_code == 422
    assert 'data-field="milestone-success_criteria"' in response.get_data(as_text=True)
    assert _count(app, Milestone) == 0


def test_health_override_needs_a_note_and_then_applies(client, app, engagement_id, post):
    until = (date.today() + timedelta(days=7)).isoformat()
    bad = post(
        f"/engagements/{engagement_id}/health",
        {"health-health": "red", "health-until": until},
        prefix="health",
    )
    assert bad.status_code == 422 and 'data-field="health-note"' in bad.get_data(as_text=True)
    good = post(
        f"/engagements/{engagement_id}/health",
        {"health-health": "red", "health-note": "Sponsor left", "health-until": until},
        prefix="health",
    )
    assert good.status_code == 302
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement.health_at() == "red"
    assert post(f"/engagements/{engagement_id}/health/clear", {}).status_code == 302
    with app.app_context():
        assert db.session.get(Engagement, engagement_id).health_at() == "green"


def test_edit_and_remove_a_team_member(client, app, engagement_id, post):
    with app.app_context():
        member_id = add_member(db.session.get(Engagement, engagement_id), name="Ola Berg").id
    page = client.get(f"/members/{member_id}/edit")
    assert page.status_code == 200 and 'value="Ola Berg"' in page.get_data(as_text=True)
    bad = post(
        f"/members/{member_id}/edit", {"name": "", "role": "ml_engineer", "allocation": "50"}
    )
    assert bad.status_code == 422 and 'data-field="name"' in bad.get_data(as_text=True)
    good = post(
        f"/members/{member_id}/edit",
        {"name": "Ola Berg", "role": "data_engineer", "allocation": "60", "areas": "etl"},
    )
    assert good.status_code == 302
    with app.app_context():
        member = db.session.get(Engagement, engagement_id).members[0]
        assert (member.role, member.allocation, member.areas) == ("data_engineer", 60, ["etl"])
    assert post(f"/members/{member_id}/delete", {}).status_code == 302
    with app.app_context():
        assert db.session.get(Engagement, engagement_id).members == []


def test_provider_may_not_edit_the_team(client, app, sign_in, post):
    with app.app_context():
        engagement = make_engagement(provider="Northwind ML")
        member_id, other_id = add_member(engagement).id, engagement.id
    sign_in("provider", provider="Northwind ML")
    response = post(f"/members/{member_id}/delete", {}, headers={"Accept": "text/html"})
    assert response.status_code == 403
    with app.app_context():
        assert len(db.session.get(Engagement, other_id).members) == 1


def test_admin_overrides_unmet_requirements_with_a_written_reason(client, app, sign_in, post):
    with app.app_context():
        engagement_id = make_engagement(title="Urgent pod").id
    sign_in("admin")
    html = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert "Start the trial (override)" in html and 'name="t-start_trial-override_reason"' in html
    blank = post(
        f"/engagements/{engagement_id}/transitions/start_trial",
        {"t-start_trial-override_reason": "  "},
        prefix="t-start_trial",
    )
    assert blank.status_code == 302  # refused: the engine wants a written reason
    with app.app_context():
        assert db.session.get(Engagement, engagement_id).state == "discovery"
    done = post(
        f"/engagements/{engagement_id}/transitions/start_trial",
        {"t-start_trial-override_reason": "Board approved a start before paperwork"},
        prefix="t-start_trial",
    )
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(Engagement, engagement_id).state == "trial"


def test_extend_needs_a_valid_length_then_moves_to_extension(client, app, engagement_id, post):
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        engagement.state = "milestone_review"
        engagement.trial_start = date.today() - timedelta(days=91)
        engagement.trial_end = engagement.period_end = date.today() - timedelta(days=1)
        engagement.period_start = engagement.trial_start
        db.session.commit()
        add_milestone(engagement, days=-2, status="met")
    html = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert 'name="t-extend-months"' in html and 'name="t-extend-review"' in html
    short = post(
        f"/engagements/{engagement_id}/transitions/extend",
        {"t-extend-months": "2", "t-extend-review": "Typed review kept"},
        prefix="t-extend",
    )
    body = short.get_data(as_text=True)
    assert short.status_code == 422
    assert 'data-field="t-extend-months"' in body and "Typed review kept" in body
    done = post(
        f"/engagements/{engagement_id}/transitions/extend",
        {"t-extend-months": "6", "t-extend-review": "Met the bar; extend."},
        prefix="t-extend",
    )
    assert done.status_code == 302
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert (engagement.state, engagement.current_period) == ("extension", 1)
        assert engagement.review_summary.startswith("Met the bar")


def test_team_member_with_an_email_is_added_and_edited_on_the_page(
    client, app, engagement_id, post
):
    added = post(
        f"/engagements/{engagement_id}/members",
        {
            "member-name": "Ines Duarte",
            "member-email": "ines@northwind.example",
            "member-role": "ml_engineer",
            "member-allocation": "100",
        },
        prefix="member",
    )
    assert added.status_code == 302, added.get_data(as_text=True)[:500]
    with app.app_context():
        member = db.session.get(Engagement, engagement_id).members[0]
        member_id = member.id
        assert member.email == "ines@northwind.example"
    edited = post(
        f"/members/{member_id}/edit",
        {
            "name": "Ines Duarte",
            "email": "ines.d@northwind.example",
            "role": "ml_engineer",
            "allocation": "80",
        },
    )
    assert edited.status_code == 302
    bad = post(
        f"/members/{member_id}/edit",
        {
            "name": "Ines Duarte",
            "email": "not-an-address",
            "role": "ml_engineer",
            "allocation": "80",
        },
    )
    assert bad.status_code == 422 and 'data-field="email"' in bad.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Engagement, engagement_id).members[0].email == (
            "ines.d@northwind.example"
        )
