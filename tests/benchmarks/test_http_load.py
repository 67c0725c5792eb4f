"""benchmarks/http_load.py measures what it names: each write it sends is one the app
accepts (a benchmark timing a 422 measures the error path, not the operation)."""

from __future__ import annotations

import json
import random

from benchmarks import http_load
from tests.support.scheduler import trial_engagement
from tracker.core import clock
from tracker.extensions import db
from tracker.models import Engagement
from tracker.services.administration import users


def _endpoint(name: str, pool: dict) -> http_load.Endpoint:
    return next(e for e in http_load.endpoints(pool) if e.name == name)


def test_fire_begin_review_is_accepted_on_a_trial_far_from_its_end(app, client):
    """The benchmark's trials are anywhere in their 90 days; a review begun before the last
    14 needs a reason (the early_review_needs_reason guard), so the body must carry one."""
    with app.app_context():
        today = clock.now().date()
        engagement, owner, _ = trial_engagement(today, trial_day=10)  # 80 days left
        token = users.create_token(owner, "benchmark")[1]
        engagement_id = engagement.id
        db.session.remove()
    pool = {
        "all": [engagement_id], "trial": [engagement_id], "milestones": [1],
        "providers": [1], "rng": random.Random(1),
    }  # fmt: skip
    endpoint = _endpoint("fire begin_review (API)", pool)
    response = client.post(
        endpoint.path(0),
        data=json.dumps(endpoint.body(0)),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Engagement, engagement_id).state == "milestone_review"
