"""Date-offset expressions ("trial_end - 7d") and durations ("3d", "2w") for timers, reminders."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from .errors import InvalidExpression
from .subject import DATE_KEYS

_UNITS = {"d": 1, "w": 7}
_DURATION = re.compile(r"^\s*(\d+)\s*([dw])\s*$")
_OFFSET = re.compile(r"^\s*([a-z_]+)\s*(?:([+-])\s*(\d+)\s*([dw]))?\s*$")


@dataclass(frozen=True)
class Offset:
    """A parsed offset expression: a named anchor date plus a signed delta."""

    anchor: str
    delta: timedelta

    def resolve(self, dates: Mapping[str, date | None]) -> date | None:
        """The concrete date, or None while the anchor date is unset."""
        base = dates.get(self.anchor)
        return None if base is None else base + self.delta


def parse_duration(text: object) -> timedelta:
    """Parse "7d" or "2w" (whole days and weeks only) into a timedelta."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidExpression(f"bad duration {text!r}: expected e.g. '7d' or '2w'")
    return timedelta(days=int(match.group(1)) * _UNITS[match.group(2)])


def parse_offset(expr: object, anchors: Iterable[str] = DATE_KEYS) -> Offset:
    """Parse "anchor", "anchor + 30d" or "anchor - 1w" against the allowed anchors."""
    match = _OFFSET.match(expr) if isinstance(expr, str) else None
    if match is None:
        raise InvalidExpression(f"bad offset expression {expr!r}: expected e.g. 'trial_end - 7d'")
    anchor, sign, amount, unit = match.groups()
    allowed = tuple(anchors)
    if anchor not in allowed:
        raise InvalidExpression(
            f"unknown date {anchor!r} in {expr!r}: expected one of {', '.join(allowed)}"
        )
    days = int(amount) * _UNITS[unit] if amount else 0
    return Offset(anchor, timedelta(days=-days if sign == "-" else days))


def resolve_offset(expr: str, dates: Mapping[str, date | None]) -> date | None:
    """Resolve an offset expression to a date; None when its anchor date is not set yet."""
    return parse_offset(expr).resolve(dates)
