"""A plausible health history for demo and scale engagements.

The application records health changes as they happen (services/judgments/health_history.py);
data loaded in one go has none, so each engagement gets a story instead: green with
amber spells and the odd red one, from its start (at most HISTORY_DAYS back) to a few
days ago, ending on the health the engagement has now. Deterministic per engagement.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, select

from tracker.extensions import db
from tracker.models import Engagement, HealthChange
from tracker.services.judgments.health_history import change_row, record_changes

HISTORY_DAYS = 120
RUN_DAYS = {"green": (14, 40), "amber": (4, 14), "red": (3, 7)}
# Mostly green; an amber spell usually recovers; red is rarer and passes through amber.
NEXT = {"green": ("amber",) * 5 + ("red",), "amber": ("green",) * 3 + ("red",)}
NEXT["red"] = ("amber", "amber", "green")


def seed(today: date) -> None:
    """The demo's engagements (after their health was computed); no commit."""
    add_history(list(db.session.scalars(select(Engagement.id).order_by(Engagement.id))), today)


def add_history(engagement_ids: list[int], today: date) -> int:
    """Replace these engagements' history with a story each; returns the rows written."""
    written = 0
    for start in range(0, len(engagement_ids), 500):
        chunk = engagement_ids[start : start + 500]
        db.session.execute(delete(HealthChange).where(HealthChange.engagement_id.in_(chunk)))
        engagements = db.session.scalars(select(Engagement).where(Engagement.id.in_(chunk))).all()
        rows = [row for e in engagements for row in _story(e, today)]
        closed = {e.id: e.closed_at for e in engagements if e.closed_at is not None}
        written += record_changes(db.session, rows, closed, fresh=chunk)
    return written


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), UTC)


def _story(engagement: Engagement, today: date) -> list[dict]:
    end = engagement.closed_at.date() if engagement.closed_at else today
    began = engagement.discovery_start or engagement.created_at.date()
    day = max(began, end - timedelta(days=HISTORY_DAYS))
    rng = random.Random(engagement.id * 7919 + day.toordinal())
    settle = end - timedelta(days=rng.randint(4, 12))  # when the current value set in
    rows, health = [], "green"
    while day < settle:
        rows.append(change_row(engagement.id, health, health, _noon(day)))
        day += timedelta(days=rng.randint(*RUN_DAYS[health]))
        health = rng.choice(NEXT[health])
    final, derived = engagement.effective_health, engagement.health
    if not rows or rows[-1]["effective_health"] != final:
        rows.append(change_row(engagement.id, final, derived, _noon(max(settle, began))))
    return rows
