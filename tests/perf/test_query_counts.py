"""SQL statements per request stay the same whether there are 5 or 25 engagements.

The data comes from the scale generator (every lifecycle state, milestones with
updates, checklists, ADRs, shadows, ~100 audit events each), so a per-row query
anywhere on these pages would show up as a difference between the two sizes.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Engagement, User
from tracker.services import scale_data
from tracker.services import users as user_service

SEED = 17


def _grow_to(app, n: int) -> None:
    with app.app_context():
        scale_data.generate(n, seed=SEED)
        db.session.remove()


def _manager_and_token(app) -> tuple[str, str]:
    with app.app_context():
        manager = db.session.scalar(
            select(User).where(User.role == "manager", User.email.like(f"%@s{SEED}.scale%"))
        )
        _, secret = user_service.create_token(manager, "perf")
        email = manager.email
        db.session.remove()
    return email, secret


def _first_ids(app, count: int) -> list[int]:
    with app.app_context():
        ids = db.session.scalars(select(Engagement.id).order_by(Engagement.id).limit(count)).all()
        db.session.remove()
    return list(ids)


def _counts(client, query_counter, requests: dict[str, tuple[str, dict]]) -> dict[str, int]:
    counts = {}
    for name, (url, headers) in requests.items():
        client.get(url, headers=headers)  # warm: first-use loads (definitions, templates)
        with query_counter() as counter:
            response = client.get(url, headers=headers)
        assert response.status_code == 200, (name, response.status_code)
        counts[name] = counter.count
    return counts


def _requests(ids: list[int], token: str) -> dict[str, tuple[str, dict]]:
    bearer = {"Authorization": f"Bearer {token}"}
    requests = {
        "dashboard": ("/dashboard", {}),
        "dashboard sorted by owner": ("/dashboard?sort=owner&per_page=10", {}),
        "api list": ("/api/v1/engagements?per_page=50", bearer),
        "api list filtered": ("/api/v1/engagements?per_page=50&health=red", bearer),
    }
    for engagement_id in ids:
        requests[f"engagement page {engagement_id}"] = (f"/engagements/{engagement_id}", {})
        requests[f"api detail {engagement_id}"] = (f"/api/v1/engagements/{engagement_id}", bearer)
    return requests


@pytest.mark.slow
def test_pages_and_api_cost_the_same_queries_for_5_and_25_engagements(
    app, client, auth, query_counter
):
    _grow_to(app, 5)
    email, token = _manager_and_token(app)
    assert auth.login(email, password=scale_data.PASSWORD).status_code == 302
    requests = _requests(_first_ids(app, 5), token)
    few = _counts(client, query_counter, requests)
    _grow_to(app, 25)
    many = _counts(client, query_counter, requests)
    assert many == few
    assert all(count > 0 for count in few.values())


def test_engagement_pages_cost_the_same_whatever_their_size(app, client, auth, query_counter):
    """Engagements in one state with different numbers of milestones, members and ADRs."""
    _grow_to(app, 40)
    email, token = _manager_and_token(app)
    assert auth.login(email, password=scale_data.PASSWORD).status_code == 302
    with app.app_context():
        trial = db.session.scalars(
            select(Engagement.id).where(Engagement.state == "extension").order_by(Engagement.id)
        ).all()
        db.session.remove()
    assert len(trial) >= 3
    counts = _counts(client, query_counter, _requests(list(trial), token))
    pages = {v for k, v in counts.items() if k.startswith("engagement page")}
    details = {v for k, v in counts.items() if k.startswith("api detail")}
    assert len(pages) == 1, counts
    assert len(details) == 1, counts
