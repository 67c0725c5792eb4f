"""GET /api/v1/engagements/{id}: the compiled dumper gives marshmallow's JSON byte for byte.

The detail is dumped by `detail_dumper` (ADR 0230) instead of `engagement_schema(...).dump`
and its engagement read with its people as id and name only. Over the scale generator's
engagements (every state, some with a live or an expired health override, a technical
contact or none), both audiences, the body is exactly what the schema's dump gives.
"""

from __future__ import annotations

import json
from datetime import timedelta

from flask import jsonify
from sqlalchemy import select

from tests.perf.helpers import first_ids, grow_to, manager_and_token, token_for
from tracker.api.common import etag
from tracker.core import clock
from tracker.extensions import db
from tracker.models import Engagement, User
from tracker.schemas.common import UserRefSchema, object_dumper
from tracker.schemas.engagement import detail_dumper, engagement_schema

SEED = 37


def _overrides(app, ids: list[int]) -> None:
    """A live override on one engagement, an expired one on another (the Function field),
    and no technical contact on a third."""
    with app.app_context():
        by = db.session.scalar(select(User).where(User.role == "manager").order_by(User.id))
        now = clock.now()
        for engagement_id, until in (
            (ids[0], now + timedelta(days=3)),
            (ids[1], now - timedelta(days=1)),
        ):
            engagement = db.session.get(Engagement, engagement_id)
            engagement.health_override = "red" if engagement.health != "red" else "green"
            engagement.health_override_note = "Manager's call"
            engagement.health_override_until = until
            engagement.health_override_at = now - timedelta(days=5)
            engagement.health_override_by_id = by.id
        db.session.get(Engagement, ids[2]).technical_contact_id = None  # a null Nested
        db.session.commit()
        db.session.remove()


def test_the_detail_body_is_the_schemas_dump_byte_for_byte(app, client):
    grow_to(app, 30, SEED)
    ids = first_ids(app, 30)
    _overrides(app, ids)
    _, manager_token = manager_and_token(app, SEED)
    with app.app_context():  # a provider's person whose firm has engagements here
        provider = db.session.scalar(
            select(User)
            .where(User.role == "provider", User.provider_id.in_(select(Engagement.provider_id)))
            .order_by(User.id)
        )
        provider_email = provider.email
        theirs = db.session.scalars(
            select(Engagement.id).where(Engagement.provider_id == provider.provider_id)
        ).all()
        db.session.remove()
    provider_token = token_for(app, provider_email)
    compared = {True: 0, False: 0}
    kinds = set()  # what the compared bodies exercised
    for token, with_cost, shown in ((manager_token, True, ids), (provider_token, False, theirs)):
        for engagement_id in shown:
            response = client.get(
                f"/api/v1/engagements/{engagement_id}",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 200
            with app.test_request_context():
                engagement = db.session.get(Engagement, engagement_id)
                expected = jsonify(engagement_schema(with_cost).dump(engagement)).get_data()
                assert detail_dumper(with_cost)(engagement) == engagement_schema(with_cost).dump(
                    engagement
                )
                db.session.remove()
            assert response.get_data() == expected, engagement_id
            assert response.headers["ETag"] == etag(engagement.version)
            body = json.loads(response.get_data())
            assert ("monthly_cost" in body) is with_cost
            compared[with_cost] += 1
            kinds.add("reasons" if body["health_reasons"] else "no reasons")
            kinds.add("override" if body["health"] != body["derived_health"] else "derived")
            kinds.add("contact" if body["technical_contact"] else "no contact")
    assert kinds == {"reasons", "no reasons", "override", "derived", "contact", "no contact"}
    assert compared[True] == len(ids) and compared[False] == len(theirs) >= 1, compared


def test_the_object_dumper_leaves_out_what_the_object_lacks_and_keeps_none():
    class Ref:
        id = 4
        name = None

    class Bare:
        pass

    dump = object_dumper(UserRefSchema())
    assert dump(Ref()) == UserRefSchema().dump(Ref()) == {"id": 4, "name": None}
    assert dump(Bare()) == UserRefSchema().dump(Bare()) == {}
