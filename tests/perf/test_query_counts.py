"""SQL statements per request stay the same whether there are 5 or 25 engagements.

The data comes from the scale generator (every lifecycle state, milestones with
updates, checklists, ADRs, shadows, ~100 audit events each), so a per-row query
anywhere on these pages would show up as a difference between the two sizes.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.perf.helpers import count_requests, first_ids, grow_to, manager_and_token
from tracker.demo import scale_data
from tracker.extensions import db
from tracker.models import Engagement

# On PostgreSQL too (ADR 0216): statement counts depend on the dialect (RETURNING, batching).
pytestmark = pytest.mark.postgres

SEED = 17


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
    grow_to(app, 5, SEED)
    email, token = manager_and_token(app, SEED)
    assert auth.login(email, password=scale_data.PASSWORD).status_code == 302
    requests = _requests(first_ids(app, 5), token)
    few = count_requests(client, query_counter, requests)
    grow_to(app, 25, SEED)
    many = count_requests(client, query_counter, requests)
    assert many == few
    assert all(count > 0 for count in few.values())


def test_engagement_pages_cost_the_same_whatever_their_size(app, client, auth, query_counter):
    """Engagements in one state with different numbers of milestones, members and ADRs."""
    grow_to(app, 40, SEED)
    email, token = manager_and_token(app, SEED)
    assert auth.login(email, password=scale_data.PASSWORD).status_code == 302
    with app.app_context():
        trial = db.session.scalars(
            select(Engagement.id).where(Engagement.state == "extension").order_by(Engagement.id)
        ).all()
        db.session.remove()
    assert len(trial) >= 3
    counts = count_requests(client, query_counter, _requests(list(trial), token))
    pages = {v for k, v in counts.items() if k.startswith("engagement page")}
    details = {v for k, v in counts.items() if k.startswith("api detail")}
    assert len(pages) == 1, counts
    assert len(details) == 1, counts
