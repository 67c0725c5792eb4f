"""How many engagements there are per state and, of the live ones, per effective health."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from tracker.models.base import Model


class EngagementCount(Model):
    """A ledger of counts: each row adds `n` (negative to take away) engagements in `state`
    with `live_health` (their effective health while open, NULL once closed).

    The count of a key is the sum of its rows. Writers only ever INSERT here, in the
    transaction that moved an engagement from one key to another (a -1 row and a +1 row),
    so concurrent writers never wait for each other; the scheduler's "counts" step folds
    the rows into one per key now and then. Kept by tracker.services.judgments.
    engagement_counts, the only writer and reader (docs/adr/0259).
    """

    __tablename__ = "engagement_count"

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(40))
    live_health: Mapped[str | None] = mapped_column(String(10))
    n: Mapped[int]

    def __repr__(self) -> str:
        return f"<EngagementCount {self.state} {self.live_health} {self.n:+d}>"
