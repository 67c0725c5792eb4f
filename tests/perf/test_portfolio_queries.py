"""The provider record and the portfolio cost the same statements for 8 engagements as
for 200 (the scale generator's data, every state), and their pages stay small."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.perf.helpers import count_get, grow_to, scale_user_email, token_for
from tracker.demo import scale_data
from tracker.extensions import db
from tracker.models import Engagement

SEED = 31
FEW, MANY = 8, 200
RECORD_STATEMENTS_BOUND = 10  # sign-in, organisation, engagements, milestones, leavers, 2 targets
PORTFOLIO_STATEMENTS_BOUND = 12  # sign-in, 4 figures, the filters' 4
PAGE_BYTES_BOUND = 60_000


def _busiest_provider(app) -> int:
    with app.app_context():
        provider_id = db.session.scalar(
            select(Engagement.provider_id)
            .group_by(Engagement.provider_id)
            .order_by(func.count().desc(), Engagement.provider_id)
        )
        db.session.remove()
    return provider_id


def _measure(client, query_counter, urls: dict, headers=None) -> dict[str, tuple[int, int]]:
    found = {}
    for name, url in urls.items():
        status, statements = count_get(client, query_counter, url, headers)
        assert status == 200, (name, status)
        found[name] = (statements, len(client.get(url, headers=headers or {}).get_data()))
    return found


def test_record_and_portfolio_cost_the_same_at_8_and_200_engagements(
    app, client, auth, query_counter
):
    grow_to(app, FEW, SEED)
    email = scale_user_email(app, "manager", SEED)
    assert auth.login(email, password=scale_data.PASSWORD).status_code == 302
    provider = _busiest_provider(app)
    urls = {
        "record": f"/providers/{provider}",
        "behind": f"/providers/{provider}/engagements?figure=all",
        "portfolio": "/portfolio",
        "portfolio_filtered": f"/portfolio?provider_id={provider}",
    }
    few = _measure(client, query_counter, urls)
    token = token_for(app, email)
    bearer = {"Authorization": f"Bearer {token}"}
    api_url = {"api": f"/api/v1/providers/{provider}/record"}
    few_api = _measure(client, query_counter, api_url, bearer)
    few_total = client.get(api_url["api"], headers=bearer).get_json()["engagements"]["count"]

    grow_to(app, MANY, SEED)
    many = _measure(client, query_counter, urls)
    many_api = _measure(client, query_counter, api_url, bearer)
    many_total = client.get(api_url["api"], headers=bearer).get_json()["engagements"]["count"]

    assert many_total > few_total  # the data really grew under the record
    for name in urls:
        assert many[name][0] == few[name][0], (name, few[name], many[name])
        assert many[name][1] < PAGE_BYTES_BOUND, (name, many[name])
    assert many_api["api"][0] == few_api["api"][0]
    assert few["record"][0] <= RECORD_STATEMENTS_BOUND
    assert few["portfolio"][0] <= PORTFOLIO_STATEMENTS_BOUND
