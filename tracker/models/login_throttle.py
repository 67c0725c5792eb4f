"""Failed sign-in counters, one row per device cookie, account name or client address
(shared by every process)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tracker.db_setup import UTCDateTime
from tracker.models.base import Model


class LoginThrottle(Model):
    """Recent failures for one key; `locked_until` in the future refuses sign-ins with 429.

    `key_hash` is a SHA-256 of the email as typed (known or not, so a lock tells
    nothing about which accounts exist), of the client address, or of a device
    cookie's nonce: the table never holds the emails people mistyped.
    """

    __tablename__ = "login_throttle"
    __table_args__ = (UniqueConstraint("scope", "key_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))  # "account" | "address" | "device"
    key_hash: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
