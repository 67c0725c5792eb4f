"""The OpenAPI document waits for its first reader (ADR 0249): the requests a worker serves
all day (sign-in, dashboard, engagement page, API list and detail, a milestone update)
leave it unwritten, and /api/v1/openapi.json writes it whole."""

from __future__ import annotations

import threading

import pytest

from tracker.extensions import api as smorest_api
from tracker.extensions import db
from tracker.models import User


@pytest.mark.fresh_app  # an app whose document nobody has read yet
def test_the_common_requests_leave_the_document_unwritten(app, client, auth, api, world):
    queued = len(smorest_api._deferred)
    assert queued > 20  # one step per API blueprint, and the configured rules
    own = world.engagements["own"]
    assert api.get("/engagements", "manager").status_code == 200
    assert api.get(f"/engagements/{own}", "manager").status_code == 200
    path = f"/milestones/{world.milestones['own']}"
    tag = api.get(path, "provider").headers["ETag"]
    update = {"status": "at_risk", "note": "Data late"}
    response = api.post(f"{path}/updates", "provider", json=update, headers={"If-Match": tag})
    assert response.status_code == 201, response.get_json()
    with app.app_context():
        manager = db.session.get(User, world.users["manager"]).email
    assert auth.login(manager).status_code == 302  # the pages, signed in through the form
    assert client.get("/dashboard").status_code == 200
    assert client.get(f"/engagements/{own}").status_code == 200
    assert len(smorest_api._deferred) == queued  # nothing above wrote any of it

    document = client.get("/api/v1/openapi.json")
    assert document.status_code == 200
    assert smorest_api._deferred == []
    paths = document.get_json()["paths"]
    assert {
        "/api/v1/engagements/{engagement_id}",
        "/api/v1/milestones/{milestone_id}/updates",
    } <= set(paths)
    assert len(paths) > 50


@pytest.mark.fresh_app
def test_a_second_reader_waits_for_the_document_being_written(app):
    """gthread workers: a thread that reads while another writes gets the whole document."""
    started, release, done = threading.Event(), threading.Event(), []

    def last_step():
        started.set()
        release.wait(5)
        done.append("written")

    smorest_api.defer_documentation(last_step)
    writer = threading.Thread(target=lambda: smorest_api.spec)
    writer.start()
    assert started.wait(5)
    seen = {}
    reader = threading.Thread(target=lambda: seen.setdefault("done", (smorest_api.spec, done[:])))
    reader.start()
    reader.join(0.3)
    assert reader.is_alive()  # it waits for the writer instead of reading half a document
    release.set()
    writer.join(5)
    reader.join(5)
    assert seen["done"][1] == ["written"]
    assert len(seen["done"][0].to_dict()["paths"]) > 50
