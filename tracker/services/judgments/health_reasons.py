"""The shape of a health reason and the levels' order, shared by every family of rules."""

from __future__ import annotations

from datetime import date

from tracker.models import Health

_RANK = {Health.GREEN: 0, Health.AMBER: 1, Health.RED: 2}


def worst_of(reasons: list[dict]) -> Health:
    """The worst level among these reasons; green when there are none."""
    return Health(max((r["level"] for r in reasons), key=_RANK.__getitem__, default=Health.GREEN))


def reason(code: str, level: str, message: str, anchor: str | None = None) -> dict:
    """One reason: a stable code, its level, a sentence naming the item, where it is."""
    made = {"code": code, "level": str(level), "message": message}
    if anchor:
        made["anchor"] = anchor  # the id of the item on the engagement page
    return made


def days_text(count: int) -> str:
    """'1 day', '3 days'."""
    return f"{count} day{'s' if count != 1 else ''}"


def day_text(day: date, today: date) -> str:
    """'12 Nov' within today's year, '12 Nov 2025' outside it: a reason read in December
    about a date 390 days back must not look like last month."""
    return f"{day:%-d %b}" if day.year == today.year else f"{day:%-d %b %Y}"
