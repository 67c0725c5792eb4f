"""The action registry: names and parameters only; the Flask app implements each action."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .params import ParamSpec

OUTCOMES = ("completed", "terminated", "cancelled")


@dataclass(frozen=True)
class Action:
    """A registered action: its parameters and what the Flask side must do when it runs."""

    name: str
    params: Mapping[str, ParamSpec]
    description: str


_ACTIONS = (
    Action(
        "set_trial_window",
        {"days": ParamSpec("int", "trial length in days", default=90, minimum=1)},
        "Start the trial today (period 0): trial_start = period_start = today, "
        "trial_end = period_end = today + days.",
    ),
    Action(
        "create_milestones",
        {
            "offsets": ParamSpec(
                "int_list", "days after the anchor", default=[30, 60, 90], minimum=1
            ),
            "anchor": ParamSpec("date_key", "date the offsets count from", default="period_start"),
            "period": ParamSpec(
                "choice", "which period they belong to", default="current", choices=("current",)
            ),
            "targets": ParamSpec(
                "choice",
                "targets of the new milestones",
                default="none",
                choices=("none", "copy_final", "linear"),
            ),
        },
        "Create one milestone per offset, due anchor + offset days, in the current period, "
        "with empty success criteria, only where the plan has none: a milestone already due "
        "within 7 days of that day counts. targets: for each metric with a target on the "
        "period's last planned milestone, 'copy_final' gives every new milestone that target; "
        "'linear' gives a new milestone due before it the value on the straight line from the "
        "baseline (at the anchor) to that target, and one due later the target itself.",
    ),
    Action(
        "start_extension",
        {
            "months": ParamSpec(
                "int", "extension length in months", required=True, minimum=1, accepts_input=True
            )
        },
        "Open the next period: current_period += 1, period_start = today, "
        "period_end = today + months (calendar months).",
    ),
    Action(
        "record_review",
        {"text": ParamSpec("str", "the written review", required=True, accepts_input=True)},
        "Store the written review of the current period (kept with the audit record).",
    ),
    Action(
        "record_reason",
        {"text": ParamSpec("str", "why it happened", required=True, accepts_input=True)},
        "Name the reason (cancellation, termination) the transition records: the transition's "
        "audit record keeps it with every other input; no engagement field is written.",
    ),
    Action(
        "set_outcome",
        {"outcome": ParamSpec("choice", "final outcome", required=True, choices=OUTCOMES)},
        "Set the engagement's outcome (completed, terminated or cancelled).",
    ),
)

ACTIONS: Mapping[str, Action] = MappingProxyType({a.name: a for a in _ACTIONS})
