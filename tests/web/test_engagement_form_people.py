"""The engagement form's owner and technical contact are person pickers (issue 29), not
<select>s of every manager: "Name <email>" text with the page's one datalist filled from
/engagements/people/<kind>; the server resolves what is posted to one allowed person, and
anyone else is a message beside the field with nothing created or changed."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.factories import make_engagement, make_user
from tracker.extensions import db
from tracker.models import Engagement, User
from tracker.services.administration.users import get_or_create_provider


def _people(app) -> dict:
    with app.app_context():
        people = {
            "lead": make_user("manager", email="lead@example.com", name="Lena Lead"),
            "other": make_user("manager", email="omar@example.com", name="Omar Other"),
            "admin": make_user("admin", email="ada@example.com", name="Ada Admin"),
            "stake": make_user("stakeholder", email="sam@example.com", name="Sam Stake"),
            "vendor": make_user("provider", email="pia@vendor.example", name="Pia Vendor"),
            "gone": make_user("manager", email="gus@example.com", name="Gus Gone"),
        }
        people["gone"].is_active = False
        provider_id = get_or_create_provider("Northwind ML").id
        db.session.commit()
        ids = {key: user.id for key, user in people.items()} | {"provider": provider_id}
        db.session.remove()
    return ids


def _form(ids, **extra) -> dict:
    return {
        "title": "Picked people",
        "provider_id": str(ids["provider"]),
        "structure": "pod_2",
        "owner_id": "Omar Other <omar@example.com>",
        "technical_contact_id": "",
        "monthly_cost": "12000",
        "currency": "EUR",
        **extra,
    }


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Engagement))


def _box(html: str, name: str) -> str:
    """The whole <input> tag of the field `name`."""
    before, after = html.split(f'name="{name}"', 1)
    return before.rsplit("<input", 1)[1] + after.split(">", 1)[0]


def test_the_new_form_offers_pickers_not_a_list_of_managers(app, client, auth):
    _people(app)
    auth.login("lead@example.com")
    html = client.get("/engagements/new").get_data(as_text=True)
    assert '<select id="owner_id"' not in html and '<select id="technical_contact_id"' not in html
    assert html.count('<datalist id="people-choices"></datalist>') == 1
    owner = _box(html, "owner_id")
    assert 'value="Lena Lead &lt;lead@example.com&gt;"' in owner  # who creates it, by default
    assert 'list="people-choices"' in owner
    assert 'data-choices="/engagements/people/owner"' in owner
    assert 'data-choices="/engagements/people/contact"' in _box(html, "technical_contact_id")
    assert "omar@example.com" not in html and "Ada Admin" not in html  # nobody else listed


def test_creating_with_picked_people_and_refusing_anyone_else(app, client, auth, post):
    ids = _people(app)
    auth.login("lead@example.com")
    refusals = {
        "owner_id": [
            "Sam Stake <sam@example.com>",  # not a manager
            "Pia Vendor <pia@vendor.example>",
            "Gus Gone <gus@example.com>",  # deactivated
            "Nobody <nobody@example.com>",
            "Omar Other",  # no address: ambiguous whatever the number of namesakes
            "",
        ],
        "technical_contact_id": ["Pia Vendor <pia@vendor.example>", "Gus Gone <gus@example.com>"],
    }
    for name, texts in refusals.items():
        for text in texts:
            response = post("/engagements/new", _form(ids, **{name: text}))
            assert response.status_code == 422, (name, text)
            html = response.get_data(as_text=True)
            assert f'data-field="{name}"' in html, (name, text)
            assert "from the list (name and email)" in html
            if text:  # what was typed stays in the box
                escaped = text.replace("<", "&lt;").replace(">", "&gt;")
                assert f'value="{escaped}"' in _box(html, name)
    assert _count(app) == 0

    created = post(
        "/engagements/new",
        _form(ids, owner_id="ADA@example.com", technical_contact_id="Sam Stake <sam@example.com>"),
    )
    assert created.status_code == 302
    with app.app_context():
        engagement = db.session.scalar(select(Engagement))
        picked = (engagement.owner_id, engagement.technical_contact_id)
        assert picked == (ids["admin"], ids["stake"])


def test_editing_shows_the_people_and_keeps_an_owner_since_deactivated(app, client, auth, post):
    ids = _people(app)
    with app.app_context():
        lead = db.session.get(User, ids["lead"])
        engagement = make_engagement(lead, title="Kept owner")
        engagement.technical_contact_id = ids["stake"]
        db.session.commit()
        engagement_id, version = engagement.id, engagement.version
    auth.login("omar@example.com")
    url = f"/engagements/{engagement_id}/edit"
    html = client.get(url).get_data(as_text=True)
    assert 'value="Lena Lead &lt;lead@example.com&gt;"' in _box(html, "owner_id")
    assert 'value="Sam Stake &lt;sam@example.com&gt;"' in _box(html, "technical_contact_id")
    assert "omar@example.com" not in html.split("<main", 1)[1]  # no list of managers

    base = _form(ids, title="Kept owner", version=str(version))
    refused = post(url, base | {"owner_id": "Sam Stake <sam@example.com>"})
    assert refused.status_code == 422
    assert 'data-field="owner_id"' in refused.get_data(as_text=True)
    with app.app_context():
        stored = db.session.get(Engagement, engagement_id)
        assert (stored.version, stored.owner_id) == (version, ids["lead"])
        db.session.get(User, ids["lead"]).is_active = False
        db.session.commit()
    kept = post(
        url,
        base | {"owner_id": "Lena Lead <lead@example.com>", "technical_contact_id": "",
                "title": "Renamed"},
    )  # fmt: skip
    assert kept.status_code == 302
    with app.app_context():
        stored = db.session.get(Engagement, engagement_id)
        assert (stored.title, stored.owner_id) == ("Renamed", ids["lead"])
        assert stored.technical_contact_id is None
        version = stored.version
    # a deactivated manager who is not the owner stays refused on the same form
    gone = post(url, base | {"owner_id": "Gus Gone <gus@example.com>", "version": str(version)})
    assert gone.status_code == 422


def test_suggestions_offer_only_who_may_hold_the_role_to_editors_only(app, client, auth, sign_in):
    _people(app)
    auth.login("lead@example.com")
    owners = client.get("/engagements/people/owner").get_json()
    assert owners["items"] == [
        "Ada Admin <ada@example.com>",
        "Lena Lead <lead@example.com>",
        "Omar Other <omar@example.com>",
    ]
    contacts = client.get("/engagements/people/contact?q=S").get_json()
    assert contacts["items"] == ["Sam Stake <sam@example.com>"]  # no vendor, no leaver
    assert client.get("/engagements/people/owner?page=0").status_code == 422
    assert client.get("/engagements/people/anyone").status_code == 404
    for role in ("stakeholder", "provider", "auditor"):
        sign_in(role)
        assert client.get("/engagements/people/owner").status_code == 404, role


def test_a_bad_picker_is_named_with_the_forms_other_refusals(app, client, auth, post):
    """One submit names every field at fault: the owner nobody has beside a missing title."""
    ids = _people(app)
    auth.login("lead@example.com")
    response = post("/engagements/new", _form(ids, title="", owner_id="Nobody <no@example.com>"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'data-field="title"' in html and 'data-field="owner_id"' in html
    too_long = post("/engagements/new", _form(ids, owner_id="x" * 321 + "@example.com"))
    box = too_long.get_data(as_text=True).split('data-field="owner_id"')
    assert too_long.status_code == 422 and len(box) == 2  # one message, not two
    assert _count(app) == 0


def test_an_edit_posted_without_the_picker_fields_keeps_the_people(app, client, auth, post):
    """A script that posts the form without owner_id or technical_contact_id changes
    neither (the form falls back to the engagement's own ids)."""
    ids = _people(app)
    with app.app_context():
        engagement = make_engagement(db.session.get(User, ids["lead"]), title="No pickers")
        engagement.technical_contact_id = ids["stake"]
        db.session.commit()
        engagement_id, version = engagement.id, engagement.version
    auth.login("lead@example.com")
    data = _form(ids, title="Renamed by a script", version=str(version))
    del data["owner_id"], data["technical_contact_id"]
    assert post(f"/engagements/{engagement_id}/edit", data).status_code == 302
    with app.app_context():
        stored = db.session.get(Engagement, engagement_id)
        assert stored.title == "Renamed by a script"
        assert (stored.owner_id, stored.technical_contact_id) == (ids["lead"], ids["stake"])
