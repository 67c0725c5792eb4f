"""Which changes need a change request, per state (issue 31), and the drift rule.

A state may list, under `change_requests`, the kinds of change that are contracted
while the engagement is in it: a direct edit of such a field is refused there and only
an approved change request may make it. Elsewhere edits stay direct. The kinds:

- milestone_due_date, milestone_targets, milestone_criteria (a milestone's success
  criteria), milestone_added, milestone_removed;
- monthly_cost (the engagement's);
- member_allocation, member_end_date (a team member's);
- period_end (the end date of the state's own period: `period`'s second date).

`[health]` carries the drift rule: `drift_slip_after` (a duration, default "21d") and
`drift_cost_percent` (a number, default 15): past either, approved requests since the
trial started turn the engagement Amber (tracker/services/judgments/health.py applies it).
"""

from __future__ import annotations

from collections.abc import Mapping

from .problems import Problems

CHANGE_KINDS = (
    "milestone_due_date",
    "milestone_targets",
    "milestone_criteria",
    "milestone_added",
    "milestone_removed",
    "monthly_cost",
    "member_allocation",
    "member_end_date",
    "period_end",
)


def parse_change_kinds(table: Mapping, where: str, problems: Problems) -> tuple[str, ...]:
    """A state's `change_requests` list: known kinds, each once (default: none)."""
    raw = table.get("change_requests", [])
    if not isinstance(raw, list) or not all(isinstance(k, str) for k in raw):
        problems.add(where, "'change_requests' must be a list of change kinds")
        return ()
    unknown = [k for k in raw if k not in CHANGE_KINDS]
    for kind in unknown:
        known = ", ".join(CHANGE_KINDS)
        problems.add(where, f"unknown change kind '{kind}' in 'change_requests' (known: {known})")
    for kind in sorted({k for k in raw if raw.count(k) > 1}):
        problems.add(where, f"change kind '{kind}' is listed more than once")
    if raw and table.get("final", False):
        problems.add(where, "a final state cannot require change requests")
    return tuple(dict.fromkeys(k for k in raw if k in CHANGE_KINDS))
