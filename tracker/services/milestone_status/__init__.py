"""What a milestone's status reads as, wherever it is shown: one judgment from the facts.

Lives here: `displayed_status` (due date, verdict, the provider's last status and its
date, optional evidence → badge, tone, the dated claim, contradictions) and the small
read helpers that hand it to the API. Every page, the timeline, the calendar feed, the
digests and the API read it; none of them decides "overdue" or "on track" on its own.

May import: tracker.models (types and labels) and tracker.core. It queries nothing and
commits nothing: callers pass the facts they already loaded.
"""

from tracker.services.milestone_status.displayed import (
    DisplayedStatus,
    TargetEvidence,
    displayed_status,
    with_displayed_status,
)

__all__ = ["DisplayedStatus", "TargetEvidence", "displayed_status", "with_displayed_status"]
