"""Forms: bad input re-renders with messages and typed values; stale edits are refused."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import csrf_from
from tests.factories import (
    PASSWORD,
    add_member,
    add_milestone,
    complete_checklist,
    make_engagement,
)
from tracker.extensions import db
from tracker.models import ChecklistItem, Engagement, Milestone, User
from tracker.services.staffing import engagements as engagement_service


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
        from tracker.services.administration.users import get_or_create_provider

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
    fixed_on["access_register"] = "#access"  # the access register, member by member
    for item in items:
        # A bound item links to where its fact is fixed; a manual one to the item.
        target = fixed_on.get(item.key, f"#checklist-{item.id}")
        if target == "/edit":
            target = f"/engagements/{engagement.id}/edit"
        assert f'href="{target}"' in unmet
        assert f'id="checklist-{item.id}"' in html
    assert 'data-code="team_empty"' in unmet and 'href="#team"' in unmet
    assert 'data-code="milestone_without_targets"' in unmet


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
    assert response.status_code == 409  # a conflict, the page re-rendered with the form
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement.state == "discovery"
        add_member(engagement)  # before placement: the access register lists the member
        for kind in ("prerequisite", "placement"):
            complete_checklist(engagement, kind)
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
    assert blank.status_code == 409  # refused: the engine wants a written reason
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


# --- Every page form, submitted with every field filled in -------------------------------
# Each WTForms class of the application maps to the test below that submits all of its
# fields with valid values through the real page and checks what was stored. A new form
# class without such a test fails test_every_form_class_has_an_every_field_test.

EVERY_FIELD_TESTS = {
    "LoginForm": "test_login_form_with_every_field",
    "PasswordChangeForm": "test_password_change_form_with_every_field",
    "SetPasswordForm": "test_set_password_form_with_every_field",
    "SubscriptionForm": "test_subscription_form_with_every_field",
    "EngagementForm": "test_engagement_form_with_every_field",
    "NewEngagementForm": "test_new_engagement_form_with_every_field",
    "WorkflowMigrationForm": "test_workflow_migration_form_with_every_field",
    "TeamMemberForm": "test_team_member_form_with_every_field",
    "MilestoneUpdateForm": "test_milestone_update_form_with_every_field",
    "MilestoneForm": "test_milestone_form_with_every_field",
    "MilestoneEditForm": "test_milestone_edit_and_action_forms_with_every_field",
    "ActionForm": "test_milestone_edit_and_action_forms_with_every_field",
    "ChecklistNoteForm": "test_checklist_note_form_with_every_field",
    "ChecklistItemForm": "test_checklist_item_form_with_every_field",
    "ChecklistItemEditForm": "test_checklist_item_edit_form_with_every_field",
    "HealthOverrideForm": "test_health_override_form_with_every_field",
    "TransitionForm": "test_transition_form_with_every_field",
}


def _form_classes() -> dict[str, type]:
    """Every FlaskForm subclass defined in the tracker package (by class name)."""
    import importlib
    import pkgutil

    from flask_wtf import FlaskForm

    import tracker

    found = {}
    for info in pkgutil.walk_packages(tracker.__path__, "tracker."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, FlaskForm):
                if value.__module__ == info.name:
                    found[value.__name__] = value
    return found


def _field_names(form_cls, prefix: str = "") -> set[str]:
    import inspect

    from wtforms.fields.core import UnboundField

    names = {n for n, _ in inspect.getmembers(form_cls, lambda v: isinstance(v, UnboundField))}
    return {f"{prefix}-{n}" if prefix else n for n in names}


def _sends_every_field(form_cls, data: dict, prefix: str = "") -> dict:
    """`data` unchanged, after checking it fills every field of the form class."""
    missing = _field_names(form_cls, prefix) - set(data)
    assert not missing, f"{form_cls.__name__}: not submitted: {sorted(missing)}"
    return data


def test_every_form_class_has_an_every_field_test():
    classes = set(_form_classes()) | {"TransitionForm"}  # built per transition at run time
    assert classes == set(EVERY_FIELD_TESTS), "add an every-field test for each new form"
    for test_name in EVERY_FIELD_TESTS.values():
        assert callable(globals().get(test_name)), test_name


def test_login_form_with_every_field(client, app, auth):
    from tracker.auth.forms import LoginForm

    with app.app_context():
        from tests.factories import make_user

        email = make_user("manager").email
    token = csrf_from(client.get("/login").get_data(as_text=True))
    data = {"email": email, "password": PASSWORD, "remember": "y"}
    response = client.post(
        "/login", data={**_sends_every_field(LoginForm, data), "csrf_token": token}
    )
    assert response.status_code == 302
    assert any(c.key == "remember_token" for c in client._cookies.values())


def test_subscription_form_with_every_field(client, app, manager, post):
    from tracker.models import Subscription
    from tracker.web.digests import SubscriptionForm

    with app.app_context():
        engagement = make_engagement(db.session.get(User, manager), title="Subscribed one")
        provider_id, engagement_id = engagement.provider_id, engagement.id
    data = {
        "user_id": str(manager),
        "scope": "chosen",
        "provider_id": str(provider_id),
        "engagement_ids": [str(engagement_id)],
        "frequency": "weekly",
        "weekday": "2",
        "send_time": "07:30",
        "timezone": "Europe/Berlin",
    }
    response = post("/digests/", _sends_every_field(SubscriptionForm, data))
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    with app.app_context():
        row = db.session.scalars(select(Subscription)).one()
        assert (row.frequency, row.weekday, row.timezone) == ("weekly", 2, "Europe/Berlin")
        assert row.send_time.strftime("%H:%M") == "07:30"


def test_engagement_form_with_every_field(client, app, manager, post):
    from tracker.web.support.forms import EngagementForm

    with app.app_context():
        from tests.factories import make_user

        contact_id = make_user("stakeholder", name="Ivan Petrov").id
    data = {
        "title": "Every field",
        "provider_id": str(_provider_id(app)),
        "structure": "pod_4",
        "owner_id": str(manager),
        "technical_contact_id": str(contact_id),
        "problem_statement": "Cut the forecast error",
        "success_criteria": "MAPE below 8%",
        "internal_notes": "Budget until June",
        "discovery_start": date.today().isoformat(),
        "monthly_cost": "9999999999.99",
        "currency": "usd",
        "version": "",
        # The period dates are set by the workflow and only moved on the edit page
        # (test_moving_the_trial_end_on_the_edit_page_moves_its_review_timer).
        **dict.fromkeys(("trial_start", "trial_end", "period_start", "period_end"), ""),
    }
    response = post("/engagements/new", _sends_every_field(EngagementForm, data))
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    with app.app_context():
        stored = db.session.scalars(select(Engagement).where(Engagement.title == "Every field"))
        engagement = stored.one()
        assert (engagement.structure, engagement.technical_contact_id) == ("pod_4", contact_id)
        assert (engagement.currency, str(engagement.monthly_cost)) == ("USD", "9999999999.99")
        assert engagement.internal_notes == "Budget until June"
        assert engagement.discovery_start == date.today()


def test_new_engagement_form_with_every_field(client, app, manager, post):
    from tracker.web.support.forms import NewEngagementForm

    dates = ("trial_start", "trial_end", "period_start", "period_end")
    data = {
        "title": "Every field, other workflow",
        "provider_id": str(_provider_id(app)),
        "structure": "single_specialist",
        "owner_id": str(manager),
        "technical_contact_id": "",
        "problem_statement": "A part-time lead",
        "success_criteria": "A roadmap",
        "internal_notes": "",
        "discovery_start": date.today().isoformat(),
        "monthly_cost": "8000",
        "currency": "EUR",
        "version": "",
        "workflow_name": "fractional_lead",
        **dict.fromkeys(dates, ""),
    }
    response = post("/engagements/new", _sends_every_field(NewEngagementForm, data))
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    with app.app_context():
        title = "Every field, other workflow"
        engagement = db.session.scalars(select(Engagement).where(Engagement.title == title)).one()
        assert engagement.workflow_name == "fractional_lead"
        assert engagement.success_criteria == "A roadmap"


def test_workflow_migration_form_with_every_field(client, app, sign_in, post):
    from tracker.services.workflow.workflow_registry import catalog
    from tracker.web.support.forms import WorkflowMigrationForm

    sign_in("admin")
    with app.app_context():
        latest = catalog().latest("staff_augmentation").version
    data = {"to_version": str(latest), "state_map": "discovery=discovery"}
    response = post(
        "/admin/workflows/staff_augmentation/migrate",
        _sends_every_field(WorkflowMigrationForm, data),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:400]
    assert f"Migrated to v{latest}" in html and "0 moved, 0 cannot move" in html


def test_team_member_form_with_every_field(client, app, engagement_id, post):
    from tracker.web.support.forms import TeamMemberForm

    start, end = date.today(), date.today() + timedelta(days=90)
    data = {
        "member-name": "Noor Haddad",
        "member-email": "noor@northwind.example",
        "member-role": "mlops_engineer",
        "member-is_external": "y",
        "member-allocation": "60",
        "member-areas": "serving, monitoring",
        "member-start_date": start.isoformat(),
        "member-end_date": end.isoformat(),
        "member-version": "",
    }
    data = _sends_every_field(TeamMemberForm, data, "member")
    response = post(f"/engagements/{engagement_id}/members", data, prefix="member")
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    with app.app_context():
        member = db.session.get(Engagement, engagement_id).members[0]
        assert (member.email, member.role, member.allocation) == (
            "noor@northwind.example",
            "mlops_engineer",
            60,
        )
        assert (member.areas, member.start_date, member.end_date) == (
            ["serving", "monitoring"],
            start,
            end,
        )


def test_milestone_update_form_with_every_field(client, app, engagement_id, post):
    from tracker.models import MilestoneUpdate
    from tracker.web.support.forms import MilestoneUpdateForm

    with app.app_context():
        milestone = add_milestone(db.session.get(Engagement, engagement_id))
        milestone_id, version = milestone.id, milestone.version
    prefix = f"m{milestone_id}"
    data = {
        f"{prefix}-status": "met",  # the manager gives the verdict
        f"{prefix}-note": "AUC 0.84 on the holdout",
        f"{prefix}-evidence": "https://wiki.example.com/eval",
        f"{prefix}-reason": "The holdout is the number the business signed off",
        f"{prefix}-version": str(version),
    }
    data = _sends_every_field(MilestoneUpdateForm, data, prefix)
    response = post(f"/milestones/{milestone_id}/update", data, prefix=prefix)
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    with app.app_context():
        stored = db.session.get(Milestone, milestone_id)
        update = db.session.scalars(select(MilestoneUpdate)).one()
        assert (stored.status, stored.verdict_by_id) == ("met", update.author_id)
        assert update.evidence == ["https://wiki.example.com/eval"]
        assert update.reason == "The holdout is the number the business signed off"


def test_milestone_form_with_every_field(client, app, engagement_id, post):
    from tracker.web.support.forms import MilestoneForm

    due = date.today() + timedelta(days=45)
    data = {
        "milestone-title": "Day-45 shadow launch",
        "milestone-due_date": due.isoformat(),
        "milestone-success_criteria": "Shadow traffic at 10% with p95 < 200 ms",
    }
    data = _sends_every_field(MilestoneForm, data, "milestone")
    response = post(f"/engagements/{engagement_id}/milestones", data, prefix="milestone")
    assert response.status_code == 302
    with app.app_context():
        stored = db.session.scalars(select(Milestone)).one()
        assert (stored.title, stored.due_date) == ("Day-45 shadow launch", due)


def test_milestone_edit_and_action_forms_with_every_field(client, app, engagement_id, post):
    from tracker.web.support.forms import ActionForm, MilestoneEditForm

    with app.app_context():
        milestone = add_milestone(db.session.get(Engagement, engagement_id), criteria="")
        milestone_id, version = milestone.id, milestone.version
    page = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    # the engagement page links the edit page (issue 29), which carries both forms
    assert f'href="/milestones/{milestone_id}/edit"' in page
    assert f'action="/milestones/{milestone_id}/edit"' not in page
    edit_page = client.get(f"/milestones/{milestone_id}/edit").get_data(as_text=True)
    assert f'action="/milestones/{milestone_id}/edit"' in edit_page
    assert f'action="/milestones/{milestone_id}/remove"' in edit_page
    prefix, due = f"edit{milestone_id}", date.today() + timedelta(days=50)
    for name in ("title", "due_date", "success_criteria", "version"):
        assert f'name="{prefix}-{name}"' in edit_page, name
    data = {
        f"{prefix}-title": "Day-50 canary",
        f"{prefix}-due_date": due.isoformat(),
        f"{prefix}-success_criteria": "Canary error rate below 0.1%",
        f"{prefix}-version": str(version),
    }
    data = _sends_every_field(MilestoneEditForm, data, prefix)
    response = post(f"/milestones/{milestone_id}/edit", data, prefix=prefix)
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    with app.app_context():
        stored = db.session.get(Milestone, milestone_id)
        assert (stored.title, stored.due_date, stored.success_criteria) == (
            "Day-50 canary",
            due,
            "Canary error rate below 0.1%",
        )
        version = stored.version
    removed = post(
        f"/milestones/{milestone_id}/remove",
        _sends_every_field(ActionForm, {"version": str(version)}),
    )
    assert removed.status_code == 302
    with app.app_context():
        assert db.session.get(Milestone, milestone_id) is None


def test_checklist_note_form_with_every_field(client, app, engagement_id, post):
    from tracker.web.support.forms import ChecklistNoteForm

    with app.app_context():
        item_id = db.session.scalar(
            select(ChecklistItem.id).where(
                ChecklistItem.engagement_id == engagement_id, ChecklistItem.key == "ip_assignment"
            )
        )
    data = _sends_every_field(ChecklistNoteForm, {"note": "Not needed", "status": "not_applicable"})
    assert post(f"/checklist/{item_id}/complete", data).status_code == 302
    with app.app_context():
        item = db.session.get(ChecklistItem, item_id)
        assert (item.status, item.note) == ("not_applicable", "Not needed")


def test_health_override_form_with_every_field(client, app, engagement_id, post):
    from tracker.web.support.forms import HealthOverrideForm

    until = date.today() + timedelta(days=10)
    data = {
        "health-health": "amber",
        "health-note": "Sponsor on leave",
        "health-until": until.isoformat(),
    }
    data = _sends_every_field(HealthOverrideForm, data, "health")
    assert post(f"/engagements/{engagement_id}/health", data, prefix="health").status_code == 302
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert (engagement.health_override, engagement.health_override_note) == (
            "amber",
            "Sponsor on leave",
        )


def test_transition_form_with_every_field(client, app, sign_in, post):
    """The form built from a transition's inputs (cancel: reason) plus version and the
    admin's override reason, every field filled."""
    admin_id = sign_in("admin")
    with app.app_context():
        engagement = make_engagement(db.session.get(User, admin_id))
        engagement_id, version = engagement.id, engagement.version
    prefix = "t-cancel"
    data = {
        f"{prefix}-reason": "The budget moved to another team",
        f"{prefix}-version": str(version),
        f"{prefix}-override_reason": "",
    }
    page = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    from tests.support.html_forms import fields_of

    sent_by_page = fields_of(page, f"/engagements/{engagement_id}/transitions/cancel")
    assert sent_by_page - {f"{prefix}-csrf_token"} <= set(data)
    response = post(f"/engagements/{engagement_id}/transitions/cancel", data, prefix=prefix)
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert (engagement.state, engagement.outcome) == ("closed", "cancelled")


# --- Bound checklist items, verdicts and milestone edits on the page ---------------------


def _item_id(app, engagement_id, key) -> int:
    with app.app_context():
        return db.session.scalar(
            select(ChecklistItem.id).where(
                ChecklistItem.engagement_id == engagement_id, ChecklistItem.key == key
            )
        )


def test_a_bound_item_has_no_tick_button_and_a_forced_tick_is_refused(
    client, app, engagement_id, post
):
    item_id = _item_id(app, engagement_id, "technical_contact")
    page = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert f'data-testid="bound-{item_id}"' in page
    assert f'data-testid="complete-{item_id}"' not in page
    refused = post(f"/checklist/{item_id}/complete", {"status": "done"})
    assert refused.status_code == 422  # the page again, with the reason, not a redirect
    assert "completes itself from the data" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ChecklistItem, item_id).status == "open"


def test_naming_the_contact_on_the_edit_page_shows_done_from_the_data(
    client, app, manager, engagement_id, post
):
    item_id = _item_id(app, engagement_id, "technical_contact")
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        form = {
            "title": engagement.title,
            "provider_id": str(engagement.provider_id),
            "structure": engagement.structure,
            "owner_id": str(manager),
            "technical_contact_id": str(manager),
            "monthly_cost": "30000",
            "currency": "EUR",
            "version": str(engagement.version),
        }
    assert post(f"/engagements/{engagement_id}/edit", form).status_code == 302
    page = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert f'data-testid="from-data-{item_id}"' in page
    assert f'data-testid="reopen-{item_id}"' not in page


def test_a_bad_due_date_on_the_edit_form_is_a_message_and_changes_nothing(
    client, app, engagement_id, post
):
    with app.app_context():
        milestone = add_milestone(db.session.get(Engagement, engagement_id))
        milestone_id, due = milestone.id, milestone.due_date
    prefix = f"edit{milestone_id}"
    data = {
        f"{prefix}-title": "Typo year",
        f"{prefix}-due_date": "2020-01-15",
        f"{prefix}-success_criteria": "Something",
    }
    response = post(f"/milestones/{milestone_id}/edit", data, prefix=prefix)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'data-field="{prefix}-due_date"' in html and "before the engagement started" in html
    with app.app_context():
        stored = db.session.get(Milestone, milestone_id)
        assert (stored.title, stored.due_date) == ("Day-30 milestone", due)


def test_the_provider_is_offered_progress_only_and_sees_the_verdict(client, app, sign_in, post):
    manager_id = sign_in("manager")
    with app.app_context():
        engagement = make_engagement(db.session.get(User, manager_id), provider="Northwind ML")
        milestone = add_milestone(engagement)
        engagement_id, milestone_id = engagement.id, milestone.id
    prefix = f"m{milestone_id}"
    verdict = {f"{prefix}-status": "met", f"{prefix}-note": "Criteria met"}
    assert post(f"/milestones/{milestone_id}/update", verdict, prefix=prefix).status_code == 302
    sign_in("provider", provider="Northwind ML")
    page = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert f'data-testid="verdict-{milestone_id}"' in page and "given by" in page
    assert f'href="/milestones/{milestone_id}/update"' in page  # its own page (issue 29)
    form = client.get(f"/milestones/{milestone_id}/update").get_data(as_text=True)
    options = form.split(f'id="{prefix}-status"')[1].split("</select>")[0]
    assert 'value="done"' in options and 'value="met"' not in options
    forced = post(
        f"/milestones/{milestone_id}/update", {f"{prefix}-status": "missed"}, prefix=prefix
    )
    assert forced.status_code == 422 and "given by a manager" in forced.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Milestone, milestone_id).status == "met"


def test_an_early_review_on_the_page_asks_for_the_reason_next_to_the_field(
    client, app, engagement_id, post
):
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        engagement.state = "trial"
        engagement.trial_start = engagement.period_start = date.today() - timedelta(days=10)
        engagement.trial_end = engagement.period_end = date.today() + timedelta(days=80)
        db.session.commit()
    page = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert 'name="t-begin_review-reason"' in page
    refused = post(
        f"/engagements/{engagement_id}/transitions/begin_review", {}, prefix="t-begin_review"
    )
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'data-field="t-begin_review-reason"' in body and "needs a written reason" in body
    with app.app_context():
        assert db.session.get(Engagement, engagement_id).state == "trial"
    reason = {"t-begin_review-reason": "The sponsor moves to another unit"}
    accepted = post(
        f"/engagements/{engagement_id}/transitions/begin_review", reason, prefix="t-begin_review"
    )
    assert accepted.status_code == 302
    with app.app_context():
        assert db.session.get(Engagement, engagement_id).state == "milestone_review"


def test_password_change_form_with_every_field(client, app, auth):
    from tracker.auth.forms import PasswordChangeForm

    with app.app_context():
        from tests.factories import make_user

        email = make_user("manager").email
    auth.login(email)
    token = csrf_from(client.get("/account/password").get_data(as_text=True))
    new = "violet harbour kettle 42"
    data = {"current_password": PASSWORD, "password": new, "confirm": new}
    response = client.post(
        "/account/password",
        data={**_sends_every_field(PasswordChangeForm, data), "csrf_token": token},
    )
    assert response.status_code == 302
    auth.logout()
    assert auth.login(email, new).status_code == 302


def test_set_password_form_with_every_field(client, app, auth):
    from tracker.auth.forms import SetPasswordForm
    from tracker.services.administration import password_links

    with app.app_context():
        from tests.factories import make_user

        admin = make_user("admin")
        user = make_user("manager")
        email = user.email
        secret = password_links.issue(user, admin, password_links.RESET)
        db.session.commit()
    path = f"/password/set/{secret}"
    token = csrf_from(client.get(path).get_data(as_text=True))
    new = "copper meadow lantern 17"
    data = {"password": new, "confirm": new}
    response = client.post(
        path, data={**_sends_every_field(SetPasswordForm, data), "csrf_token": token}
    )
    assert response.status_code == 302
    assert auth.login(email, new).status_code == 302


def _running_trial(app, engagement_id, *, days_in=20):
    """The engagement `days_in` days into its trial, with the review timer it set on entry."""
    from tracker.models import WorkflowTimer
    from tracker.services.workflow.transitions import start_of_day

    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        engagement.state = "trial"
        engagement.trial_start = engagement.period_start = date.today() - timedelta(days=days_in)
        engagement.trial_end = engagement.period_end = engagement.trial_start + timedelta(days=90)
        engagement.discovery_start = engagement.trial_start - timedelta(days=14)
        db.session.add(
            WorkflowTimer(
                engagement_id=engagement_id,
                event="begin_review",
                from_state="trial",
                due_at=start_of_day(engagement.trial_end),
            )
        )
        db.session.commit()
        return engagement.trial_end


def test_a_manager_puts_an_engagement_on_hold_and_resumes_it_on_the_page(
    client, app, engagement_id, post
):
    end = _running_trial(app, engagement_id)
    html = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert 'name="t-put_on_hold-reason"' in html and 'name="t-put_on_hold-expected_resume"' in html
    url = f"/engagements/{engagement_id}/transitions/put_on_hold"
    refused = post(url, {"t-put_on_hold-reason": " "}, prefix="t-put_on_hold")
    assert refused.status_code == 422
    assert 'data-field="t-put_on_hold-reason"' in refused.get_data(as_text=True)
    back = (date.today() + timedelta(days=14)).isoformat()
    form = {"t-put_on_hold-reason": "Budget freeze", "t-put_on_hold-expected_resume": back}
    assert post(url, form, prefix="t-put_on_hold").status_code == 302
    html = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert "On hold since" in html and "Budget freeze" in html
    assert 'name="t-resume-shift_dates"' in html
    board = client.get("/dashboard").get_data(as_text=True)  # the dashboard shows the hold
    assert 'data-testid="hold"' in board and "(from Trial): Budget freeze" in board
    with app.app_context():  # the hold began ten days ago
        engagement = db.session.get(Engagement, engagement_id)
        engagement.paused_at = engagement.paused_at - timedelta(days=10)
        db.session.commit()
    resumed = post(
        f"/engagements/{engagement_id}/transitions/resume",
        {"t-resume-shift_dates": "yes"},
        prefix="t-resume",
    )
    assert resumed.status_code == 302
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement.state == "trial"
        assert engagement.trial_end == end + timedelta(days=10)
    html = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert f"{end + timedelta(days=10):%-d %b %Y}" in html or (
        (end + timedelta(days=10)).isoformat() in html
    )


def test_moving_the_trial_end_on_the_edit_page_is_refused_with_a_link_and_a_request_moves_it(
    client, app, engagement_id, post
):
    """In a trial the end date is contracted (issue 31): the edit page answers 409 with
    what was typed and a link to raise a change request, the review timer stays; an
    approved request moves the date and the timer with it."""
    from tests.factories import make_user
    from tracker.models import WorkflowTimer
    from tracker.services.change_requests import service
    from tracker.services.workflow.transitions import start_of_day

    end = _running_trial(app, engagement_id)
    html = client.get(f"/engagements/{engagement_id}/edit").get_data(as_text=True)
    assert 'name="trial_end"' in html and 'name="period_end"' in html
    shorter = (end - timedelta(days=30)).isoformat()
    with app.app_context():
        data = _edit_form(
            db.session.get(Engagement, engagement_id), trial_end=shorter, period_end=shorter
        )
    refused = post(f"/engagements/{engagement_id}/edit", data)
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert f'value="{shorter}"' in page
    assert f'href="/engagements/{engagement_id}/change-requests/new"' in page

    def pending_is(day) -> bool:
        with app.app_context():
            due = db.session.scalars(
                select(WorkflowTimer.due_at).where(
                    WorkflowTimer.engagement_id == engagement_id,
                    WorkflowTimer.status == "pending",
                )
            ).all()
            return due == [start_of_day(day)]

    assert pending_is(end)
    with app.app_context():
        change = {"target": "engagement", "field": "period_end", "to": shorter}
        raised = service.raise_request(
            make_user("manager"), engagement_id, {"changes": [change], "why": "Ahead of plan"}
        )
        service.approve(make_user("admin"), raised.id)
    assert pending_is(end - timedelta(days=30))
    with app.app_context():
        data = _edit_form(db.session.get(Engagement, engagement_id), trial_end="2000-01-01")
    refused = post(f"/engagements/{engagement_id}/edit", data)
    assert refused.status_code == 422
    assert 'data-field="trial_end"' in refused.get_data(as_text=True)


def test_checklist_item_form_with_every_field(client, app, engagement_id, post, manager):
    from tracker.web.support.forms import ChecklistItemForm

    due = date.today() + timedelta(days=9)
    data = {
        "item-kind": "placement",
        "item-title": "Laptop shipped",
        "item-owner_id": str(manager),
        "item-due_date": due.isoformat(),
        "item-note": "Via the usual courier",
        "item-evidence": "https://tickets.example.com/IT-7",
    }
    response = post(
        f"/engagements/{engagement_id}/checklist",
        _sends_every_field(ChecklistItemForm, data, "item"),
        prefix="item",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    with app.app_context():
        item = db.session.scalars(
            select(ChecklistItem).where(ChecklistItem.title == "Laptop shipped")
        ).one()
        assert (item.kind, item.owner_id, item.due_date, item.note, item.evidence) == (
            "placement",
            manager,
            due,
            "Via the usual courier",
            "https://tickets.example.com/IT-7",
        )


def test_checklist_item_edit_form_with_every_field(client, app, engagement_id, post, manager):
    from tracker.web.support.forms import ChecklistItemEditForm

    with app.app_context():
        item = db.session.scalars(
            select(ChecklistItem).where(
                ChecklistItem.engagement_id == engagement_id, ChecklistItem.fact.is_(None)
            )
        ).first()
        item_id, version = item.id, item.version
    page = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert f'href="/checklist/{item_id}/edit"' in page  # the form is a page of its own
    form_page = client.get(f"/checklist/{item_id}/edit").get_data(as_text=True)
    assert f'name="item{item_id}-title"' in form_page
    prefix, due = f"item{item_id}", date.today() + timedelta(days=12)
    data = {
        f"{prefix}-title": "Accounts created (SSO)",
        f"{prefix}-owner_id": str(manager),
        f"{prefix}-due_date": due.isoformat(),
        f"{prefix}-note": "Two of three done",
        f"{prefix}-evidence": "https://tickets.example.com/IT-9",
        f"{prefix}-version": str(version),
    }
    response = post(
        f"/checklist/{item_id}/edit",
        _sends_every_field(ChecklistItemEditForm, data, prefix),
        prefix=prefix,
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    with app.app_context():
        stored = db.session.get(ChecklistItem, item_id)
        assert (stored.title, stored.owner_id, stored.due_date, stored.note, stored.evidence) == (
            "Accounts created (SSO)",
            manager,
            due,
            "Two of three done",
            "https://tickets.example.com/IT-9",
        )
        assert stored.version == version + 1
