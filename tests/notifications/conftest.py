"""Digest test helpers: subscriptions made through the real service, and the rows they leave."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import DigestRun, OutboxEmail
from tracker.services.messaging import subscriptions as subscription_service

START = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)  # a Monday, before anyone's 08:00


def subscribe(user, *, now=START, actor=None, **fields):
    """A subscription for `user` created at `now` (daily 08:00 in their zone by default)."""
    data = {"frequency": "daily", "send_time": time(8), "timezone": user.timezone, "scope": "all"}
    data["user_id"] = user.id
    data.update(fields)
    return subscription_service.create_subscription(actor or user, data, now=now)


def runs(subscription_id: int) -> list[DigestRun]:
    return list(
        db.session.scalars(
            select(DigestRun)
            .where(DigestRun.subscription_id == subscription_id)
            .order_by(DigestRun.period_key)
        )
    )


def digest_emails() -> list[OutboxEmail]:
    return list(
        db.session.scalars(
            select(OutboxEmail).where(OutboxEmail.category == "digest").order_by(OutboxEmail.id)
        )
    )


@pytest.fixture
def subscribe_user():
    return subscribe
