"""Every knowledge-retention page form, submitted with every field the page offers.

The fields sent are checked against the rendered form (so a field added to a template
without a test fails here), and a knowledge POST route without a test fails the guard.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.factories import add_member, make_engagement, make_user
from tests.support.html_forms import fields_of
from tracker.extensions import db
from tracker.models import Adr, Artifact, Engagement, ShadowAssignment, ShadowSession, User
from tracker.services.knowledge import adrs

EVERY_FIELD_TESTS = {
    "knowledge.create_adr": "test_create_adr_form_with_every_field",
    "knowledge.edit_adr": "test_edit_and_decide_adr_forms_with_every_field",
    "knowledge.decide_adr": "test_edit_and_decide_adr_forms_with_every_field",
    "knowledge.import_adrs": "test_import_form_with_every_field",
    "knowledge.assign_shadow": "test_shadow_forms_with_every_field",
    "knowledge.log_session": "test_shadow_forms_with_every_field",
    "knowledge.rate_confidence": "test_shadow_forms_with_every_field",
    "knowledge.sign_off": "test_shadow_forms_with_every_field",
    "knowledge.add_artifact": "test_artifact_forms_with_every_field",
    "knowledge.remove_artifact": "test_artifact_forms_with_every_field",
}


def test_every_knowledge_form_has_an_every_field_test(app):
    posted = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("knowledge.") and "POST" in (rule.methods or ())
    }
    assert posted == set(EVERY_FIELD_TESTS), "add an every-field test for each new form"
    for name in EVERY_FIELD_TESTS.values():
        assert callable(globals().get(name)), name


@pytest.fixture
def site(app, auth):
    """A manager (signed in as admin, to see every form), an engagement with an external
    member, an internal engineer and an accepted ADR."""
    with app.app_context():
        admin = make_user("admin", email="root@example.com")
        manager = make_user("manager")
        internal = make_user("stakeholder", name="Ivan Petrov")
        engagement = make_engagement(manager, title="Churn handover")
        member = add_member(engagement, "Mara Quint", areas=("serving", "features"))
        accepted = adrs.create_adr(manager, engagement.id, {"title": "Use Feast"})
        adrs.decide_adr(manager, accepted.id, "accepted")
        ids = {
            "admin": admin.id,
            "engagement": engagement.id,
            "member": member.id,
            "internal": internal.id,
            "accepted": accepted.id,
        }
        db.session.remove()
    auth.login("root@example.com")
    return ids


def _page(client, site) -> str:
    return client.get(f"/engagements/{site['engagement']}/knowledge").get_data(as_text=True)


def _submit(client, auth, page: str, action: str, data: dict, **kwargs):
    """POST `data` to the page's form at `action`, after checking it fills every field."""
    missing = fields_of(page, action) - {"csrf_token"} - set(data)
    assert not missing, f"{action}: not submitted: {sorted(missing)}"
    return client.post(action, data={"csrf_token": auth.csrf(), **data}, **kwargs)


def test_create_adr_form_with_every_field(client, auth, app, site):
    action = f"/engagements/{site['engagement']}/knowledge/adrs"
    data = {
        "title": "Serve with Ray",
        "deciders": "Dana Lee, Mara Quint",
        "decided_on": date.today().isoformat(),
        "context": "Batch jobs overrun",
        "decision": "Ray Serve",
        "consequences": "One more cluster",
        "supersedes_id": str(site["accepted"]),
        "status": "accepted",
    }
    assert _submit(client, auth, _page(client, site), action, data).status_code == 303
    with app.app_context():
        adr = db.session.scalars(select(Adr).where(Adr.title == "Serve with Ray")).one()
        assert (adr.status, adr.deciders, adr.supersedes_id) == (
            "accepted",
            "Dana Lee, Mara Quint",
            site["accepted"],
        )


def test_edit_and_decide_adr_forms_with_every_field(client, auth, app, site):
    with app.app_context():
        admin = db.session.get(User, site["admin"])
        draft = adrs.create_adr(admin, site["engagement"], {"title": "Draft"})
        adr_id, version = draft.id, draft.version
    page = client.get(f"/adrs/{adr_id}").get_data(as_text=True)
    edit = {
        "version": str(version),
        "title": "Feature store on Feast",
        "deciders": "Dana Lee",
        "decided_on": date.today().isoformat(),
        "context": "Two copies of features",
        "decision": "One Feast registry",
        "consequences": "Migration work",
        "supersedes_id": str(site["accepted"]),
    }
    assert _submit(client, auth, page, f"/adrs/{adr_id}/edit", edit).status_code == 303
    decide = {"note": "Agreed at the review", "status": "accepted"}
    assert _submit(client, auth, page, f"/adrs/{adr_id}/decision", decide).status_code == 303
    with app.app_context():
        adr = db.session.get(Adr, adr_id)
        assert (adr.title, adr.status, adr.consequences) == (
            "Feature store on Feast",
            "accepted",
            "Migration work",
        )


def test_import_form_with_every_field(client, auth, app, site):
    """The page's export of one engagement, imported on another's page."""
    exported = client.get(f"/engagements/{site['engagement']}/knowledge/export?profile=madr")
    assert exported.status_code == 200
    with app.app_context():
        target = make_engagement(db.session.get(User, site["admin"]), title="Target").id
    page = client.get(f"/engagements/{target}/knowledge").get_data(as_text=True)
    action = f"/engagements/{target}/knowledge/import"
    data = {"file": (io.BytesIO(exported.data), "adrs.zip")}
    response = _submit(client, auth, page, action, data, content_type="multipart/form-data")
    assert response.status_code == 303
    with app.app_context():
        imported = db.session.scalars(select(Adr).where(Adr.engagement_id == target)).all()
        assert [a.title for a in imported] == ["Use Feast"]


def test_the_shadow_form_does_not_offer_a_member_who_has_left(client, auth, app, site):
    with app.app_context():
        engagement = db.session.get(Engagement, site["engagement"])
        leaver = add_member(engagement, "Petra Lind", areas=("forecast model",))
        leaver.end_date = date.today() - timedelta(days=3)
        db.session.commit()
        leaver_id = leaver.id
    page = _page(client, site)
    form = page.split('data-testid="shadow-form"')[1].split("</form>")[0]
    members = form.split('name="member_id"')[1].split("</select>")[0]
    assert f'value="{site["member"]}"' in members and "Mara Quint" in members
    assert f'value="{leaver_id}"' not in members and "Petra Lind" not in form
    assert "forecast model" not in form  # nor her areas
    refused = client.post(
        f"/engagements/{site['engagement']}/knowledge/shadows",
        data={
            "csrf_token": auth.csrf(),
            "member_id": str(leaver_id),
            "shadow_id": str(site["internal"]),
            "areas": "forecast model",
        },
    )
    assert refused.status_code == 422
    assert "Petra Lind left the engagement on" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(ShadowAssignment)).all() == []


def test_shadow_forms_with_every_field(client, auth, app, site):
    start, end = date.today(), date.today() + timedelta(days=60)
    assign = {
        "member_id": str(site["member"]),
        "shadow_id": str(site["internal"]),
        "areas": ["serving", "features"],
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
    }
    action = f"/engagements/{site['engagement']}/knowledge/shadows"
    assert _submit(client, auth, _page(client, site), action, assign).status_code == 303
    with app.app_context():
        assignment = db.session.scalars(select(ShadowAssignment)).one()
        assert (assignment.areas, assignment.end_date) == (["serving", "features"], end)
        assignment_id = assignment.id
    page = _page(client, site)
    session = {
        "held_on": date.today().isoformat(),
        "duration_minutes": "90",
        "topic": "Serving runbook",
        "notes": "Walked through the rollback",
    }
    sessions = f"/shadows/{assignment_id}/sessions"
    assert _submit(client, auth, page, sessions, session).status_code == 303
    sign_off = f"/shadows/{assignment_id}/sign-off"
    before = _page(client, site)  # after the session, before the rating: not yet possible
    assert 'data-testid="sign-off" aria-describedby' in before and " disabled " in before
    assert "Not yet: the shadow has not rated their confidence." in before
    confidence = f"/shadows/{assignment_id}/confidence"
    assert _submit(client, auth, page, confidence, {"confidence": "4"}).status_code == 303
    ready = _page(client, site)
    assert (
        "sign-off-why" not in ready
        and 'type="submit" class="small-button" data-testid="sign-off"' in ready
    )
    assert _submit(client, auth, ready, sign_off, {}).status_code == 303
    with app.app_context():
        stored = db.session.get(ShadowAssignment, assignment_id)
        logged = db.session.scalars(select(ShadowSession)).one()
        assert (logged.duration_minutes, logged.notes) == (90, "Walked through the rollback")
        assert stored.confidence == 4 and stored.is_signed_off


def test_artifact_forms_with_every_field(client, auth, app, site):
    action = f"/engagements/{site['engagement']}/knowledge/artifacts"
    data = {"kind": "runbook", "title": "Serving runbook", "url": "https://wiki.example/run"}
    assert _submit(client, auth, _page(client, site), action, data).status_code == 303
    with app.app_context():
        artifact = db.session.scalars(select(Artifact)).one()
        assert (artifact.kind, artifact.url) == ("runbook", "https://wiki.example/run")
        artifact_id = artifact.id
    remove = f"/artifacts/{artifact_id}/delete"
    assert _submit(client, auth, _page(client, site), remove, {}).status_code == 303
    with app.app_context():
        assert db.session.get(Artifact, artifact_id) is None


def test_a_session_in_the_future_is_a_message_next_to_the_date(client, auth, app, site):
    with app.app_context():
        admin = db.session.get(User, site["admin"])
        data = {"member_id": site["member"], "shadow_id": site["internal"], "areas": ["serving"]}
        from tracker.services.knowledge import shadows

        assignment_id = shadows.assign_shadow(admin, site["engagement"], data).id
    future = (date.today() + timedelta(days=20)).isoformat()
    form = {"held_on": future, "duration_minutes": "60", "topic": "Serving", "notes": ""}
    response = _submit(
        client, auth, _page(client, site), f"/shadows/{assignment_id}/sessions", form
    )
    assert response.status_code == 422
    assert 'data-field="held_on"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(ShadowSession)).all() == []
