"""Person pickers (issue 29): the forms that pick one of the client side's people offer a
text box and one datalist filled from /pickers/person, not a <select> of every user; the
server resolves what is posted and refuses, changing nothing, whoever it does not find."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from tests.factories import add_member, make_engagement, make_user
from tracker.extensions import db
from tracker.models import Drill, ShadowAssignment, User


def _site(app):
    with app.app_context():
        manager = make_user("manager", email="lead@example.com", name="Lena Lead")
        internal = make_user("stakeholder", name="Ivan Petrov", email="ivan@example.com")
        make_user("provider", provider="Northwind ML", name="Ivan Provider")
        make_user("auditor", name="Ivan Auditor")
        gone = make_user("manager", name="Ivan Gone")
        gone.is_active = False
        engagement = make_engagement(manager, title="Churn handover")
        member = add_member(engagement, "Mara Quint", areas=("serving",))
        db.session.commit()
        ids = {"engagement": engagement.id, "member": member.id, "internal": internal.id}
        db.session.remove()
    return ids


def test_suggestions_are_the_client_sides_active_people_a_page_at_a_time(
    app, client, auth, sign_in
):
    _site(app)
    auth.login("lead@example.com")
    body = client.get("/pickers/person?q=ivan").get_json()
    assert body["items"] == ["Ivan Petrov <ivan@example.com>"]  # no provider, auditor, leaver
    assert body["next_page"] is None
    with app.app_context():
        db.session.execute(
            User.__table__.insert(),
            [
                {"email": f"p{n}@many.example", "name": f"Many {n:02d}", "role": "manager",
                 "is_active": True, "timezone": "UTC", "session_nonce": f"n{n}"}
                for n in range(25)
            ],
        )  # fmt: skip
        db.session.commit()
    first = client.get("/pickers/person?q=many").get_json()
    assert len(first["items"]) == 20 and first["next_page"] == 2
    second = client.get("/pickers/person?q=MANY&page=2").get_json()
    assert second["items"] == [f"Many {n:02d} <p{n}@many.example>" for n in range(20, 25)]
    assert client.get("/pickers/person?page=0").status_code == 422
    sign_in("provider", provider="Northwind ML")
    assert client.get("/pickers/person?q=ivan").status_code == 404  # not theirs to pick


def _assign(client, auth, site, shadow_text: str):
    data = {
        "csrf_token": auth.csrf(),
        "member_id": str(site["member"]),
        "shadow_id": shadow_text,
        "areas": ["serving"],
    }
    return client.post(f"/engagements/{site['engagement']}/knowledge/shadows", data=data)


def _assignments(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ShadowAssignment))


def test_the_shadow_is_resolved_from_the_picked_text_and_nobody_else(app, client, auth):
    site = _site(app)
    auth.login("lead@example.com")
    page = client.get(f"/engagements/{site['engagement']}/knowledge").get_data(as_text=True)
    assert '<datalist id="people-choices"></datalist>' in page
    assert 'name="shadow_id" value="" list="people-choices"' in page
    for text in ("Nobody <nobody@example.com>", "Ivan Provider", "Ivan Petrov", "99999"):
        refused = _assign(client, auth, site, text)
        html = refused.get_data(as_text=True)
        assert refused.status_code == 422, text
        assert 'data-field="shadow_id"' in html and "Choose a person from the list" in html
        assert f'name="shadow_id" value="{text}"'.replace("<", "&lt;").replace(">", "&gt;") in html
    assert _assignments(app) == 0
    with app.app_context():  # a provider's address names nobody who may shadow
        provider_email = db.session.scalar(select(User.email).where(User.role == "provider"))
    assert _assign(client, auth, site, f"Ivan Provider <{provider_email}>").status_code == 422
    assert _assignments(app) == 0
    done = _assign(client, auth, site, "Ivan Petrov <IVAN@example.com>")
    assert done.status_code == 303
    with app.app_context():
        (assignment,) = db.session.scalars(select(ShadowAssignment)).all()
        assert assignment.shadow_id == site["internal"]
        assignment_id = assignment.id
    # the drill form names the shadow as who did it, and no one as the observer
    page = client.get(f"/engagements/{site['engagement']}/knowledge").get_data(as_text=True)
    assert 'name="performed_by_id" value="Ivan Petrov &lt;ivan@example.com&gt;"' in page
    assert 'name="observed_by_id" value=""' in page
    drill = {
        "csrf_token": auth.csrf(),
        "area": "serving",
        "task": "Roll back the model alone",
        "performed_by_id": "Ivan Petrov <ivan@example.com>",
        "observed_by_id": "Someone <someone@else.example>",
        "performed_on": date.today().isoformat(),
        "outcome": "passed",
    }
    refused = client.post(f"/shadows/{assignment_id}/drills", data=drill)
    assert refused.status_code == 422
    assert 'data-field="observed_by_id"' in refused.get_data(as_text=True)
    assert _count(app, Drill) == 0
    drill["observed_by_id"] = "lead@example.com"  # an address typed without the picker
    assert client.post(f"/shadows/{assignment_id}/drills", data=drill).status_code == 303
    with app.app_context():
        (stored,) = db.session.scalars(select(Drill)).all()
        lead = db.session.scalar(select(User.id).where(User.email == "lead@example.com"))
        assert (stored.performed_by_id, stored.observed_by_id) == (site["internal"], lead)


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


PICKER_ENDPOINTS = (
    "/pickers/person",
    "/pickers/owner",
    "/digests/subscribers",
    "/admin/audit/actors",
    "/engagements/{engagement}/checklist/owners",
)


def test_every_suggestions_endpoint_reads_and_refuses_its_arguments_alike(app, client, auth):
    """One parser (person_picker.suggestion_args) behind every picker's endpoint: white
    space folded in `q`, a 422 naming each bad argument, and nothing looked up then."""
    site = _site(app)
    with app.app_context():
        make_user("admin", email="root@example.com", name="Ivan Root")
        db.session.commit()
    auth.login("root@example.com")
    for path in PICKER_ENDPOINTS:
        url = path.format(**site)
        body = client.get(f"{url}?q=%20%20ivan%20%20%20petrov%20").get_json()
        assert body["q"] == "ivan petrov" and body["page"] == 1, url
        assert body["next_page"] is None, url
        refused = client.get(f"{url}?q={'x' * 201}&page=0")
        assert refused.status_code == 422, url
        both = {"q": ["At most 200 characters."], "page": ["A whole number from 1 to 1000."]}
        assert refused.get_json() == {
            "code": "validation_failed",
            "message": "Check 'q', 'page'.",
            "errors": both,
        }, url
        for page in ("1001", "x", "-1", ""):
            answer = client.get(f"{url}?page={page}")
            assert answer.status_code == 422, (url, page)
            assert answer.get_json()["errors"] == {"page": ["A whole number from 1 to 1000."]}
