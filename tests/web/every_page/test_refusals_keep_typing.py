"""Every page form refused by the server comes back with what was typed, a message beside
the field and a 4xx (422 invalid, 409 conflict, 412 stale), and nothing changes.

The engagement, milestone-edit, checklist-edit, team and admin forms have their own
refusal tests (test_forms, test_part_editing, test_admin_users); these cover the forms
that used to drop what was typed: the knowledge page's, the ADR page's, the milestone
status update after a stale save and a lifecycle transition after a stale or gated fire.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import add_member, add_milestone, make_engagement, make_user
from tests.support.scheduler import day_pinned
from tracker.extensions import db
from tracker.models import (
    Adr,
    Artifact,
    Engagement,
    Milestone,
    ShadowAssignment,
    ShadowSession,
    User,
)
from tracker.services.delivery import milestones
from tracker.services.knowledge import adrs, shadows

TODAY = date.today()


@pytest.fixture(autouse=True)
def _on_today(app):
    """The app's clock on this module's TODAY, even if the run crosses midnight UTC."""
    day_pinned(app, TODAY)


def _form(html: str, testid: str) -> str:
    """The markup of the form with this data-testid (up to its </form>)."""
    match = re.search(rf'<form [^>]*data-testid="{testid}".*?</form>', html, re.S)
    assert match, f"no form {testid}"
    return match.group(0)


def _form_at(html: str, action: str) -> str:
    match = re.search(rf'<form [^>]*action="{re.escape(action)}".*?</form>', html, re.S)
    assert match, f"no form posting to {action}"
    return match.group(0)


@pytest.fixture
def site(app, auth):
    """An admin signed in (sees every form), an engagement with an external member of two
    areas, an internal engineer and an accepted ADR."""
    with app.app_context():
        make_user("admin", email="root@example.com")
        manager = make_user("manager")
        internal = make_user("stakeholder", name="Ivan Petrov")
        engagement = make_engagement(manager, title="Churn handover")
        member = add_member(engagement, "Mara Quint", areas=("serving", "features"))
        accepted = adrs.create_adr(manager, engagement.id, {"title": "Use Feast"})
        adrs.decide_adr(manager, accepted.id, "accepted")
        ids = {
            "engagement": engagement.id,
            "member": member.id,
            "internal": internal.id,
            "accepted": accepted.id,
            "manager": manager.id,
        }
        db.session.remove()
    auth.login("root@example.com")
    return ids


def _post(client, auth, url: str, data: dict):
    return client.post(url, data={"csrf_token": auth.csrf(), **data})


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_a_refused_shadow_assignment_keeps_every_typed_value(client, auth, app, site):
    start, end = TODAY + timedelta(days=30), TODAY + timedelta(days=2)  # end before start
    data = {
        "member_id": str(site["member"]),
        "shadow_id": str(site["internal"]),
        "areas": ["features"],
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
    }
    response = _post(client, auth, f"/engagements/{site['engagement']}/knowledge/shadows", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r"<details open><summary>Assign a shadow", html)  # not collapsed
    form = _form(html, "shadow-form")
    assert f'<option value="{site["member"]}" selected>' in form
    # the shadow is a person picker (issue 29): the typed text stays in it
    assert f'name="shadow_id" value="{site["internal"]}"' in form
    assert 'value="features" checked' in form and 'value="serving" checked' not in form
    assert f'value="{start.isoformat()}"' in form and f'value="{end.isoformat()}"' in form
    # the message sits beside the field it is about, and the field says it is invalid
    assert re.search(
        r'name="end_date"[^>]*aria-invalid="true"[^>]*>\s*<span class="field-error" '
        r'data-field="end_date"[^>]*>Must not be before the start\.</span>',
        form,
    )
    assert _count(app, ShadowAssignment) == 0


def test_a_shadow_assignment_without_areas_names_the_areas_beside_them(client, auth, app, site):
    data = {"member_id": str(site["member"]), "shadow_id": str(site["internal"])}
    response = _post(client, auth, f"/engagements/{site['engagement']}/knowledge/shadows", data)
    form = _form(response.get_data(as_text=True), "shadow-form")
    assert response.status_code == 422
    assert re.search(r'<span class="field-error" data-field="areas"[^>]*>Name at least', form)
    # the shadow is a person picker (issue 29): the typed text stays in it
    assert f'name="shadow_id" value="{site["internal"]}"' in form
    assert _count(app, ShadowAssignment) == 0


def test_a_refused_session_log_keeps_what_was_typed_on_that_assignment(client, auth, app, site):
    with app.app_context():
        manager = db.session.get(User, site["manager"])
        data = {"member_id": site["member"], "shadow_id": site["internal"], "areas": ["serving"]}
        assignment_id = shadows.assign_shadow(manager, site["engagement"], data).id
    typed = {
        "held_on": TODAY.isoformat(),
        "duration_minutes": "0",  # the browser's min=1 aside, the server refuses it
        "topic": "Rollback drill",
        "notes": "Paired on the canary",
    }
    response = _post(client, auth, f"/shadows/{assignment_id}/sessions", typed)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    form = _form_at(html, f"/shadows/{assignment_id}/sessions")
    assert 'value="Rollback drill"' in form and 'value="Paired on the canary"' in form
    assert f'value="{TODAY.isoformat()}"' in form and 'value="0"' in form
    assert 'data-field="duration_minutes"' in form and "Between 1 and 1440 minutes." in form
    assert _count(app, ShadowSession) == 0


def test_a_refused_confidence_rating_says_why_beside_the_select(client, auth, app, site):
    with app.app_context():
        manager = db.session.get(User, site["manager"])
        data = {"member_id": site["member"], "shadow_id": site["internal"], "areas": ["serving"]}
        assignment_id = shadows.assign_shadow(manager, site["engagement"], data).id
    response = _post(client, auth, f"/shadows/{assignment_id}/confidence", {"confidence": "9"})
    form = _form_at(response.get_data(as_text=True), f"/shadows/{assignment_id}/confidence")
    assert response.status_code == 422
    assert 'aria-invalid="true"' in form and 'data-field="confidence"' in form
    with app.app_context():
        assert db.session.get(ShadowAssignment, assignment_id).confidence is None


def test_a_refused_link_keeps_its_kind_title_and_text(client, auth, app, site):
    typed = {"kind": "recording", "title": "Latency board", "url": "ftp://boards/latency"}
    url = f"/engagements/{site['engagement']}/knowledge/artifacts"
    response = _post(client, auth, url, typed)
    form = _form(response.get_data(as_text=True), "artifact-form")
    assert response.status_code == 422
    assert '<option value="recording" selected>' in form
    assert 'value="Latency board"' in form and 'value="ftp://boards/latency"' in form
    assert 'data-field="url"' in form
    assert _count(app, Artifact) == 0


def test_a_refused_adr_proposal_keeps_its_text(client, auth, app, site):
    typed = {
        "title": "Serve with Ray",
        "deciders": "Dana Lee",
        "decided_on": TODAY.isoformat(),
        "context": "Batch jobs overrun",
        "decision": "Ray Serve",
        "consequences": "One more cluster",
        "supersedes_id": str(site["accepted"]),
        "status": "rejected",  # a new ADR is proposed or accepted
    }
    before = _count(app, Adr)
    response = _post(client, auth, f"/engagements/{site['engagement']}/knowledge/adrs", typed)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r"<details open>\s*<summary>Propose an ADR", html)
    form = _form(html, "adr-form")
    assert 'value="Serve with Ray"' in form and ">One more cluster</textarea>" in form
    assert f'<option value="{site["accepted"]}" selected>' in form
    assert 'data-field="status"' in form
    assert _count(app, Adr) == before


def test_a_stale_adr_edit_keeps_the_typed_text_on_the_adr_page(client, auth, app, site):
    with app.app_context():
        manager = db.session.get(User, site["manager"])
        draft = adrs.create_adr(manager, site["engagement"], {"title": "Draft"})
        adr_id, version = draft.id, draft.version
        adrs.update_adr(manager, adr_id, {"title": "Changed meanwhile"})
    typed = {
        "version": str(version),
        "title": "My better title",
        "deciders": "",
        "decided_on": TODAY.isoformat(),
        "context": "Typed context",
        "decision": "",
        "consequences": "",
        "supersedes_id": "",
    }
    response = _post(client, auth, f"/adrs/{adr_id}/edit", typed)
    html = response.get_data(as_text=True)
    assert response.status_code == 412
    assert "since you loaded it" in html
    form = _form(html, "adr-edit-form")
    assert 'value="My better title"' in form and ">Typed context</textarea>" in form
    with app.app_context():
        current = db.session.get(Adr, adr_id)
        assert current.title == "Changed meanwhile"
        assert f'name="version" value="{current.version}"' in form  # saving again is a choice


def test_a_refused_adr_decision_keeps_the_note(client, auth, app, site):
    with app.app_context():
        manager = db.session.get(User, site["manager"])
        adr_id = adrs.create_adr(manager, site["engagement"], {"title": "Draft"}).id
    typed = {"note": "Agreed at the review", "status": "deprecated"}  # not from proposed
    response = _post(client, auth, f"/adrs/{adr_id}/decision", typed)
    form = _form_at(response.get_data(as_text=True), f"/adrs/{adr_id}/decision")
    assert response.status_code == 409
    assert 'value="Agreed at the review"' in form and 'data-field="status"' in form
    with app.app_context():
        assert db.session.get(Adr, adr_id).status == "proposed"


# --- The engagement page ----------------------------------------------------------------


@pytest.fixture
def trial(app, sign_in):
    """A manager signed in; their engagement ten days into its trial, with one milestone."""
    manager_id = sign_in("manager")
    with app.app_context():
        engagement = make_engagement(db.session.get(User, manager_id), title="Forecasting pod")
        start = TODAY - timedelta(days=10)
        engagement.state = "trial"
        engagement.trial_start = engagement.period_start = start
        engagement.trial_end = engagement.period_end = start + timedelta(days=90)
        db.session.commit()
        milestone = add_milestone(engagement, days=20, title="Day-60")
        return {
            "engagement": engagement.id,
            "version": engagement.version,
            "milestone": milestone.id,
            "milestone_version": milestone.version,
            "manager": manager_id,
        }


def test_a_stale_milestone_update_keeps_the_note_and_link(client, app, trial, post):
    m, prefix = trial["milestone"], f"m{trial['milestone']}"
    with app.app_context():
        manager = db.session.get(User, trial["manager"])
        milestones.record_update(manager, m, status="on_track", note="First")
    typed = {
        f"{prefix}-status": "at_risk",
        f"{prefix}-note": "Data access slipped a week",
        f"{prefix}-evidence": "https://wiki.example/standup",
        f"{prefix}-version": str(trial["milestone_version"]),
    }
    response = post(f"/milestones/{m}/update", typed, prefix=prefix)
    html = response.get_data(as_text=True)
    assert response.status_code == 412
    assert "Data access slipped a week</textarea>" in html
    assert 'value="https://wiki.example/standup"' in html
    with app.app_context():
        stored = db.session.get(Milestone, m)
        assert stored.status == "on_track"
        assert f'name="{prefix}-version" value="{stored.version}"' in html


def test_a_stale_transition_keeps_the_typed_reason(client, app, trial, post):
    prefix = "t-begin_review"
    with app.app_context():
        engagement = db.session.get(Engagement, trial["engagement"])
        engagement.title = "Renamed meanwhile"
        db.session.commit()
    typed = {
        f"{prefix}-reason": "The sponsor moves unit",
        f"{prefix}-version": str(trial["version"]),
    }
    response = post(
        f"/engagements/{trial['engagement']}/transitions/begin_review", typed, prefix=prefix
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 412
    form = _form_at(html, f"/engagements/{trial['engagement']}/transitions/begin_review")
    assert "The sponsor moves unit</textarea>" in form and "data-collapsed" not in form
    with app.app_context():
        assert db.session.get(Engagement, trial["engagement"]).state == "trial"


def test_a_gated_transition_keeps_the_typed_inputs(client, app, sign_in, post):
    """Start the trial from a page loaded when it was possible, its requirements unmet now:
    409, and the form is still shown (open, with its message) to copy what was typed."""
    manager_id = sign_in("manager")
    with app.app_context():
        engagement = make_engagement(db.session.get(User, manager_id))
        engagement_id, version = engagement.id, engagement.version
    prefix = "t-start_trial"
    typed = {f"{prefix}-version": str(version)}
    response = post(f"/engagements/{engagement_id}/transitions/start_trial", typed, prefix=prefix)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    form = _form_at(html, f"/engagements/{engagement_id}/transitions/start_trial")
    assert "requirement(s) are not met yet" in form and "data-collapsed" not in form
    with app.app_context():
        assert db.session.get(Engagement, engagement_id).state == "discovery"


ENGAGEMENT_PAGE_FORMS = {
    "add milestone": (
        "/engagements/{engagement}/milestones",
        {
            "milestone-title": "Backtest typed",
            "milestone-due_date": "",
            "milestone-success_criteria": "Typed criteria",
        },
        "milestone",
        ['value="Backtest typed"', "Typed criteria</textarea>"],
        "milestone-due_date",
    ),
    "add team member": (
        "/engagements/{engagement}/members",
        {
            "member-name": "Rita Typed",
            "member-email": "not-an-email",
            "member-role": "ml_engineer",
            "member-is_external": "y",
            "member-allocation": "60",
            "member-areas": "serving, alerts",
        },
        "member",
        ['value="Rita Typed"', 'value="not-an-email"', 'value="serving, alerts"', 'value="60"'],
        "member-email",
    ),
    "health override": (
        "/engagements/{engagement}/health",
        {"health-health": "amber", "health-note": "Sponsor typed", "health-until": ""},
        "health",
        ["Sponsor typed</textarea>", '<option selected value="amber">'],
        "health-until",
    ),
    "milestone status update": (
        "/milestones/{milestone}/update",
        {
            "m{milestone}-status": "at_risk",
            "m{milestone}-note": "Typed update note",
            "m{milestone}-evidence": "not a link",
        },
        "m{milestone}",
        ["Typed update note</textarea>", 'value="not a link"'],
        "m{milestone}-evidence",
    ),
}


@pytest.mark.parametrize("case", ENGAGEMENT_PAGE_FORMS, ids=list(ENGAGEMENT_PAGE_FORMS))
def test_a_refused_engagement_page_form_keeps_what_was_typed(client, app, trial, post, case):
    url, data, prefix, kept, field = ENGAGEMENT_PAGE_FORMS[case]
    ids = {"engagement": trial["engagement"], "milestone": trial["milestone"]}
    data = {k.format(**ids): v for k, v in data.items()}
    response = post(url.format(**ids), data, prefix=prefix.format(**ids))
    html = response.get_data(as_text=True)
    assert response.status_code == 422, case
    for snippet in kept:
        assert snippet in html, (case, snippet)
    assert f'data-field="{field.format(**ids)}"' in html, case


def test_refused_admin_and_account_forms_keep_what_was_typed(client, app, sign_in, post):
    """The webhook, organisation and API-token forms: 422 with the typed values back."""
    sign_in("admin")
    hook = post(
        "/admin/webhooks",
        {"url": "ftp://hooks.example/x", "description": "Typed hook", "events": ["ping"]},
    )
    assert hook.status_code == 422
    assert 'value="Typed hook"' in hook.get_data(as_text=True)
    organisation = post("/admin/providers", {"name": "", "website": "https://typed.example"})
    assert organisation.status_code == 422
    assert 'value="https://typed.example"' in organisation.get_data(as_text=True)
    token = post("/tokens", {"name": "x" * 101})
    assert token.status_code == 422
    assert f'value="{"x" * 101}"' in token.get_data(as_text=True)
