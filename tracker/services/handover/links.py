"""The rules the handover records share: evidence and document links, and the actor's today."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tracker.core import clock

LINK_MAX = 500


def url_problem(link: str) -> str | None:
    """None for an empty or a plain http(s) link, else the sentence a form shows."""
    if not link:
        return None
    parts = urlsplit(link)
    if len(link) > LINK_MAX or parts.scheme not in ("http", "https") or not parts.netloc:
        return f"Give a link starting with http:// or https:// (at most {LINK_MAX} characters)."
    return None


def local_today(actor) -> date:
    """Today where the actor is (their profile's time zone; UTC when unknown): a day they
    record cannot be in their future, and their today is never refused."""
    try:
        zone = ZoneInfo(getattr(actor, "timezone", None) or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return clock.now().astimezone(zone).date()
