"""Circuit breakers for the delivery steps: a server that cannot be reached costs one
attempt per back-off, not one timeout per queued message (ADR 0204).

A breaker is one row of `delivery_circuit`, shared by every scheduler process: "smtp"
for the outbox, "webhook:<endpoint id>" for each webhook endpoint. A connect failure or
a timeout trips it: the step stops, gives the rest of its claimed rows back uncharged,
and the breaker stays open for DELIVERY_CIRCUIT_SECONDS, doubling with each trip in a
row (capped at CIRCUIT_CAP). When it has run out the next delivery is the probe: a
success closes the breaker (deletes the row), a failure opens it again for longer.

Every write runs and commits on its own connection: tripping must not wait for (or be
undone with) the batch's work, and a breaker must still open when the batch fails.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select

from tracker.core import clock
from tracker.core.upsert import insert
from tracker.extensions import db
from tracker.models import DeliveryCircuit

log = logging.getLogger(__name__)
CIRCUIT_BASE = timedelta(seconds=30)
CIRCUIT_CAP = timedelta(minutes=30)
SMTP = "smtp"


def webhook(endpoint_id: int) -> str:
    """The breaker of one webhook endpoint: one slow receiver never holds up the others."""
    return f"webhook:{endpoint_id}"


@dataclass(frozen=True)
class Circuit:
    name: str
    trips: int
    open_until: datetime
    reason: str

    def is_open(self, now: datetime) -> bool:
        return _aware(self.open_until) > now

    def describe(self) -> str:
        """What the Outbox page, /healthz and the tick's output say about it."""
        return f"paused until {_aware(self.open_until):%Y-%m-%d %H:%M:%S} UTC: {self.reason}"


def delay(trips: int) -> timedelta:
    """How long a breaker stays open after `trips` trips in a row: base, 2x, 4x ... capped."""
    base = timedelta(seconds=float(current_app.config.get("DELIVERY_CIRCUIT_SECONDS") or 30))
    return min(base * (2 ** max(trips - 1, 0)), max(CIRCUIT_CAP, base))


def get(name: str) -> Circuit | None:
    """The breaker's row, read on its own connection (None: closed)."""
    with db.engine.connect() as conn:
        row = conn.execute(
            select(
                DeliveryCircuit.name,
                DeliveryCircuit.trips,
                DeliveryCircuit.open_until,
                DeliveryCircuit.reason,
            ).where(DeliveryCircuit.name == name)
        ).first()
        conn.rollback()
    return Circuit(row.name, row.trips, row.open_until, row.reason) if row else None


def open_ones(prefix: str = "") -> list[Circuit]:
    """Every breaker on record whose name starts with `prefix` (open or waiting for a probe)."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(
                DeliveryCircuit.name,
                DeliveryCircuit.trips,
                DeliveryCircuit.open_until,
                DeliveryCircuit.reason,
            )
            .where(DeliveryCircuit.name.startswith(prefix))
            .order_by(DeliveryCircuit.name)
        ).all()
        conn.rollback()
    return [Circuit(r.name, r.trips, r.open_until, r.reason) for r in rows]


def trip(name: str, reason: str, *, now: datetime | None = None) -> Circuit:
    """Open (or re-open for longer) the breaker `name`; returns it as written."""
    now = max(now or clock.now(), clock.now())
    current = get(name)
    trips = (current.trips if current else 0) + 1
    until = now + delay(trips)
    values = {
        "name": name,
        "trips": trips,
        "opened_at": now,
        "open_until": until,
        "reason": reason[:300],
    }
    with db.engine.connect() as conn:
        statement = insert(DeliveryCircuit.__table__, conn.dialect.name)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["name"],
                set_={
                    "trips": statement.excluded.trips,
                    "opened_at": statement.excluded.opened_at,
                    "open_until": statement.excluded.open_until,
                    "reason": statement.excluded.reason,
                },
            ),
            values,
        )
        conn.commit()
    log.warning("%s: circuit open until %s (trip %d): %s", name, until, trips, reason)
    return Circuit(name, trips, until, reason[:300])


def close(name: str) -> None:
    """A delivery got through: the breaker is closed (its row deleted)."""
    with db.engine.connect() as conn:
        conn.execute(delete(DeliveryCircuit).where(DeliveryCircuit.name == name))
        conn.commit()


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
