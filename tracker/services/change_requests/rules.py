"""Whether a change needs a change request here, and the refusal of a direct edit."""

from __future__ import annotations

from collections.abc import Mapping

from tracker.errors import Conflict
from tracker.services.workflow import lifecycle

# What each kind is called in a sentence.
KIND_WORDS = {
    "milestone_due_date": "a milestone's due date",
    "milestone_targets": "a milestone's targets",
    "milestone_criteria": "a milestone's success criteria",
    "milestone_added": "adding a milestone",
    "milestone_removed": "removing a milestone",
    "monthly_cost": "the monthly cost",
    "member_allocation": "a team member's allocation",
    "member_end_date": "a team member's end date",
    "period_end": "the period's end date",
}


class ChangeRequestRequired(Conflict):
    """A direct edit of a contracted field while the state says it needs a change request."""

    code = "change_request_required"

    def __init__(self, message: str, *, errors: dict, engagement_id: int):
        super().__init__(message, errors=errors)
        self.engagement_id = engagement_id


def needs_request(engagement, kind: str) -> bool:
    """Whether, in the engagement's current state, a change of `kind` needs a request."""
    return lifecycle.state_of(engagement).needs_change_request(kind)


def period_end_field(engagement) -> str | None:
    """The engagement date that ends the current state's period (None outside a period)."""
    state = lifecycle.state_of(engagement)
    return state.period[1] if state.is_period else None


def refuse_direct(engagement, fields: Mapping[str, str]) -> None:
    """Refuse (409, nothing changed) when any {field as sent: change kind} needs a request.

    Callers pass only the fields whose value would really change."""
    state = lifecycle.state_of(engagement)
    blocked = {field: kind for field, kind in fields.items() if state.needs_change_request(kind)}
    if not blocked:
        return
    words = sorted({KIND_WORDS[kind] for kind in blocked.values()})
    message = (
        f"While the engagement is in {state.label}, {', '.join(words)} changes only through "
        "an approved change request; raise one instead."
    )
    errors = {
        field: [f"{KIND_WORDS[kind].capitalize()} needs a change request in {state.label}."]
        for field, kind in blocked.items()
    }
    raise ChangeRequestRequired(message, errors=errors, engagement_id=engagement.id)
