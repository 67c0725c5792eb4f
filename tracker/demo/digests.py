"""Demo digest subscriptions: the Helsinki stakeholder daily, the Northwind provider weekly."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Subscription, User
from tracker.services.messaging import subscriptions

DEMO_SUBSCRIPTIONS = [
    ("stakeholder@example.com", {"scope": "all", "frequency": "daily", "send_time": time(8)}),
    (
        "priya@northwind.example",
        {"scope": "provider", "frequency": "weekly", "weekday": 0, "send_time": time(9)},
    ),
]


def seed(today: date) -> int:
    """Subscribe the demo stakeholder and provider (once); returns how many were added."""
    added = 0
    for email, data in DEMO_SUBSCRIPTIONS:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None or db.session.scalar(
            select(Subscription.id).where(Subscription.user_id == user.id)
        ):
            continue
        data = dict(data, timezone=user.timezone)
        if data["scope"] == "provider":
            data["provider_id"] = user.provider_id
        subscriptions.create_subscription(user, data)
        added += 1
    return added
