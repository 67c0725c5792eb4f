"""The [hiring] table of a definition: after how many months on one engagement the owner is
asked to evaluate hiring in-house instead of augmenting (`evaluate_after_months`)."""

from __future__ import annotations

from dataclasses import dataclass

from .problems import Problems


@dataclass(frozen=True)
class HiringRules:
    """Months (cumulative, from the trial's start) before "Evaluate hiring" opens."""

    evaluate_after_months: int = 12


def parse_hiring(raw: object, problems: Problems) -> HiringRules:
    """[hiring] with `evaluate_after_months` (a whole number of months, 1 to 120)."""
    if raw is None:
        return HiringRules()
    if not isinstance(raw, dict) or raw.keys() - {"evaluate_after_months"}:
        problems.add("hiring", "must be a table with only 'evaluate_after_months'")
        return HiringRules()
    months = raw.get("evaluate_after_months", HiringRules.evaluate_after_months)
    if not isinstance(months, int) or isinstance(months, bool) or not 1 <= months <= 120:
        problems.add("hiring.evaluate_after_months", "must be a whole number from 1 to 120")
        return HiringRules()
    return HiringRules(months)
