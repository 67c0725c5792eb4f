"""Subscriptions in the UI, the API and the CLI; preview; unsubscribe without login.

No app context stays pushed while the test client runs: each request must get a
fresh one (and a fresh `g`), as in production. Database checks use `db_ctx()`.
"""

from __future__ import annotations

from collections import namedtuple
from datetime import time

import pytest

from tests.factories import make_engagement, make_user
from tests.notifications.conftest import START, digest_emails, subscribe
from tracker.extensions import db
from tracker.models import Engagement, Subscription, User
from tracker.notifications.digests import run_due
from tracker.services.administration.users import create_token
from tracker.services.messaging.subscriptions import unsubscribe_token

Person = namedtuple("Person", "id email")


@pytest.fixture
def people(app):
    """A manager, a Helsinki stakeholder and a Northwind provider; two providers' engagements."""
    with app.app_context():
        manager = make_user("manager", email="dana@example.com")
        stakeholder = make_user(
            "stakeholder", email="stella@example.com", timezone="Europe/Helsinki"
        )
        provider = make_user("provider", email="priya@northwind.example", provider="Northwind ML")
        make_engagement(manager, provider="Northwind ML", title="Demand forecasting pod")
        make_engagement(manager, provider="Quanta Labs", title="Vision QA for the packing line")
        found = [Person(u.id, u.email) for u in (manager, stakeholder, provider)]
        db.session.remove()
    return found


@pytest.fixture
def db_ctx(app):
    return app.app_context


def _subscribe(person: Person, **fields) -> int:
    return subscribe(db.session.get(User, person.id), **fields).id


def _bearer(person: Person) -> dict:
    _, secret = create_token(db.session.get(User, person.id), "test")
    return {"Authorization": f"Bearer {secret}"}


def test_unsubscribe_link_works_without_login_and_tampering_is_refused(people, client, db_ctx):
    with db_ctx():
        subscription_id = _subscribe(people[0])
        token = unsubscribe_token(subscription_id)
    page = client.get(f"/digests/unsubscribe/{token}")
    assert page.status_code == 200 and b"Unsubscribe?" in page.data
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.post(f"/digests/unsubscribe/{tampered}").status_code == 404
    assert client.get(f"/digests/unsubscribe/{subscription_id}").status_code == 404
    with db_ctx():
        assert db.session.get(Subscription, subscription_id).is_active
    done = client.post(f"/digests/unsubscribe/{token}")  # RFC 8058 one-click: no form fields
    assert done.status_code == 200 and b"unsubscribed" in done.data
    with db_ctx():
        assert not db.session.get(Subscription, subscription_id).is_active
        assert run_due(START.replace(hour=9)).sent == 0


def test_digest_email_carries_list_unsubscribe_headers(people, db_ctx):
    with db_ctx():
        subscription_id = _subscribe(people[0])
        run_due(START.replace(hour=9))
        email = digest_emails()[0]
        url = f"http://localhost/digests/unsubscribe/{unsubscribe_token(subscription_id)}"
        assert email.headers["List-Unsubscribe"] == f"<{url}>"
        assert email.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert url in email.text_body and url in email.html_body


def test_manager_subscribes_a_stakeholder_in_the_ui(people, client, auth, db_ctx):
    manager, stakeholder, _ = people
    auth.login(manager.email)
    page = client.get("/digests/")
    assert page.status_code == 200 and b"Add a subscription" in page.data
    form = {"csrf_token": auth.csrf(), "user_id": str(stakeholder.id), "scope": "all"}
    form.update(frequency="weekly", weekday="0", send_time="07:30", timezone="Europe/Helsinki")
    response = client.post("/digests/", data=form)
    assert response.status_code == 302
    with db_ctx():
        created = db.session.query(Subscription).filter_by(user_id=stakeholder.id).one()
        assert (created.frequency, created.weekday, created.send_time) == ("weekly", 0, time(7, 30))
        assert created.created_by_id == manager.id and created.next_due_at is not None
    listing = client.get("/digests/").get_data(as_text=True)
    assert "Weekly on Monday at 07:30 Europe/Helsinki" in listing


def test_ui_form_errors_name_the_field_and_change_nothing(people, client, auth, db_ctx):
    auth.login(people[0].email)
    form = {"csrf_token": auth.csrf(), "scope": "provider", "frequency": "daily", "weekday": "0"}
    form.update(send_time="08:00", timezone="UTC", user_id=str(people[0].id))
    response = client.post("/digests/", data=form)
    assert response.status_code == 422
    assert b'data-field="provider_id"' in response.data
    with db_ctx():
        assert db.session.query(Subscription).count() == 0


def test_preview_page_shows_my_digest_filtered_by_role(people, client, auth):
    auth.login(people[2].email)
    page = client.get("/digests/preview")
    assert page.status_code == 200 and 'src="/digests/preview/html"' in page.get_data(as_text=True)
    framed = client.get("/digests/preview/html")  # the body, framed under its own CSP
    body = framed.get_data(as_text=True)
    assert framed.status_code == 200 and "Demand forecasting pod" in body
    assert "Vision QA" not in body and "Quanta" not in body


def test_api_crud_and_validation(people, client, db_ctx):
    manager, stakeholder, provider = people
    with db_ctx():
        headers, other = _bearer(manager), _bearer(provider)
    body = {"user_id": stakeholder.id, "scope": "all", "frequency": "daily", "send_time": "08:00"}
    created = client.post("/api/v1/subscriptions", json=body, headers=headers)
    assert created.status_code == 201, created.json
    assert created.json["timezone"] == "Europe/Helsinki" and created.json["weekday"] is None
    url = f"/api/v1/subscriptions/{created.json['id']}"
    bad = client.patch(url, json={"timezone": "Mars/Olympus"}, headers=headers)
    assert bad.status_code == 422 and "timezone" in bad.json["errors"]
    weekly = client.patch(url, json={"frequency": "weekly"}, headers=headers)
    assert weekly.status_code == 422 and "weekday" in weekly.json["errors"]
    typo = client.patch(url, json={"weekday": "monday"}, headers=headers)
    assert typo.status_code == 422 and "weekday" in typo.json["errors"]
    assert client.get(url, headers=headers).json["frequency"] == "daily"
    listed = client.get(f"/api/v1/subscriptions?user_id={stakeholder.id}", headers=headers)
    assert [s["id"] for s in listed.json] == [created.json["id"]]
    assert client.get(url, headers=other).status_code == 404
    assert client.delete(url, headers=other).status_code == 404
    assert client.delete(url, headers=headers).status_code == 204
    with db_ctx():
        assert db.session.query(Subscription).count() == 0


def test_provider_cannot_choose_another_providers_engagement(people, client, db_ctx):
    with db_ctx():
        quanta = db.session.query(Engagement).filter(Engagement.title.like("Vision%")).one().id
        headers = _bearer(people[2])
    body = {"scope": "chosen", "engagement_ids": [quanta], "frequency": "daily"}
    body["send_time"] = "08:00"
    response = client.post("/api/v1/subscriptions", json=body, headers=headers)
    assert response.status_code == 422 and "engagement_ids" in response.json["errors"]
    stakeholder_for_provider = dict(body, scope="all", user_id=people[1].id)
    refused = client.post("/api/v1/subscriptions", json=stakeholder_for_provider, headers=headers)
    assert refused.status_code == 422 and "user_id" in refused.json["errors"]
    with db_ctx():
        assert db.session.query(Subscription).count() == 0


def test_cli_preview_prints_the_text_version(people, app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["digests", "preview", "priya@northwind.example"])
    assert result.exit_code == 0, result.output
    assert "ENGAGEMENT DIGEST" in result.output and "Demand forecasting pod" in result.output
    assert "Vision QA" not in result.output
    missing = runner.invoke(args=["digests", "preview", "nobody@example.com"])
    assert missing.exit_code != 0 and "no user" in missing.output


def test_cli_run_due_sends_what_is_due(people, app):
    with app.app_context():
        _subscribe(people[0])
    runner = app.test_cli_runner()
    result = runner.invoke(args=["digests", "run-due", "--now", "2026-03-02T09:00:00+00:00"])
    assert result.exit_code == 0 and '"sent": 1' in result.output
    again = runner.invoke(args=["digests", "run-due", "--now", "2026-03-02T10:00:00"])
    assert '"sent": 0' in again.output
    bad = runner.invoke(args=["digests", "run-due", "--now", "yesterday"])
    assert bad.exit_code != 0 and "--now" in bad.output


def test_the_subscriber_is_picked_by_name_and_resolved_among_those_one_may_subscribe(
    people, client, auth, db_ctx
):
    """The subscriber is a person picker (issue 29): no <select> of every stakeholder;
    suggestions are oneself and the stakeholders; the posted "Name <email>" is resolved,
    and a name of anyone else is refused beside the field with nothing created."""
    manager, stakeholder, provider = people
    auth.login(manager.email)
    page = client.get("/digests/").get_data(as_text=True)
    assert 'name="user_id"' in page and 'list="people-choices"' in page
    assert "stella@example.com" not in page  # the stakeholder is only a suggestion
    offered = client.get("/digests/subscribers?q=").get_json()["items"]
    assert any("<stella@example.com>" in o for o in offered)
    assert any("<dana@example.com>" in o for o in offered)
    assert not any("northwind" in o for o in offered)
    assert client.get("/digests/subscribers?page=0").status_code == 422
    form = {"csrf_token": auth.csrf(), "scope": "all", "frequency": "daily", "weekday": "0"}
    form.update(send_time="08:00", timezone="UTC", user_id=f"Priya <{provider.email}>")
    refused = client.post("/digests/", data=form)
    assert refused.status_code == 422 and b'data-field="user_id"' in refused.data
    assert f"Priya &lt;{provider.email}&gt;".encode() in refused.data  # what was typed
    with db_ctx():
        assert db.session.query(Subscription).count() == 0
    form["user_id"] = "Stella <STELLA@example.com>"
    assert client.post("/digests/", data=form).status_code == 302
    with db_ctx():
        assert db.session.query(Subscription).one().user_id == stakeholder.id
    auth.logout()
    auth.login(provider.email)  # a provider subscribes only themselves
    assert [o for o in client.get("/digests/subscribers?q=").get_json()["items"]] == [
        o for o in client.get("/digests/subscribers?q=northwind").get_json()["items"]
    ]
    assert client.get("/digests/subscribers?q=stella").get_json()["items"] == []
