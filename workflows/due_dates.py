"""When a due date makes sense for an engagement: one rule for milestones, checklist items
and the due dates a change request proposes.

Pure: it reads an engagement's `discovery_start` and `created_at` (any object that has
them), so the services that validate due dates (delivery's milestones and checklists,
change requests) share it without importing one another.
"""

from __future__ import annotations

from datetime import date

PLAUSIBLE_YEARS = 3  # a due date further out than this after the start is a typo


def add_years(day: date, years: int) -> date:
    """The same day `years` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def engagement_start(engagement) -> date:
    """The day the engagement began: discovery start, else the day it was created."""
    return engagement.discovery_start or engagement.created_at.date()


def due_date_problem(engagement, due: date) -> str | None:
    """Why a due date makes no sense for this engagement, or None."""
    start = engagement_start(engagement)
    latest = add_years(start, PLAUSIBLE_YEARS)
    if due < start:
        return f"The due date is before the engagement started ({start.isoformat()})."
    if due > latest:
        return (
            f"The due date is more than {PLAUSIBLE_YEARS} years after the engagement "
            f"started (latest {latest.isoformat()})."
        )
    return None
