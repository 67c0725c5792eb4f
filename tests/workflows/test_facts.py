"""The evidence facts and guard: success metrics defined, milestones with numeric targets."""

from __future__ import annotations

from datetime import date

from tests.workflows.workflow_facts import TODAY, ready_subject
from workflows import MetricFact, MilestoneFact
from workflows.facts import FACTS
from workflows.guards import GUARDS

DEFINED = FACTS["success_metrics_defined"]
WITH_TARGETS = GUARDS["milestone_with_targets"].function


def _milestones(*specs):
    return tuple(
        MilestoneFact(i, f"M{i}", due, "planned", "", period, targets=targets)
        for i, (due, period, targets) in enumerate(specs, 1)
    )


def _holds(milestones, metrics) -> bool:
    return DEFINED.holds(ready_subject("discovery", milestones=milestones, metrics=metrics), {})


def test_defined_needs_a_baseline_and_a_target_on_the_trials_last_milestone():
    metric = MetricFact(1, "AUC", has_baseline=True)
    last_has_it = _milestones((date(2025, 4, 1), 0, ()), (date(2025, 6, 1), 0, (1,)))
    assert _holds(last_has_it, (metric,))
    only_earlier = _milestones((date(2025, 4, 1), 0, (1,)), (date(2025, 6, 1), 0, ()))
    assert not _holds(only_earlier, (metric,))
    no_baseline = MetricFact(1, "AUC", has_baseline=False)
    assert not _holds(last_has_it, (no_baseline,))
    extension_only = _milestones((date(2025, 9, 1), 1, (1,)))
    assert not _holds(extension_only, (metric,))
    assert not _holds((), (metric,))


def test_the_guard_counts_milestones_with_a_numeric_target_not_text_criteria():
    text_only = ready_subject("discovery", milestones=_milestones((TODAY, 0, ())))
    unmet = WITH_TARGETS(text_only, {"min": 1})
    assert [u.code for u in unmet] == ["milestone_without_targets"]
    assert "numeric target" in unmet[0].message
    numeric = ready_subject("discovery", milestones=_milestones((TODAY, 0, (3,))))
    assert WITH_TARGETS(numeric, {"min": 1}) == []
    assert WITH_TARGETS(numeric, {"min": 2}) != []
