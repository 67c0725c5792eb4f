"""The facts guards look at (workflows/subject.py): immutable plain data with the two
judgments they carry, complete checklist items and final milestones."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from workflows.subject import DATE_KEYS, ChecklistFact, MilestoneFact, Subject


@pytest.mark.parametrize(
    ("status", "complete"),
    [("done", True), ("not_applicable", True), ("open", False), ("in_progress", False)],
)
def test_done_and_not_applicable_items_are_complete(status, complete):
    assert ChecklistFact(1, "prerequisite", "Laptop", status).is_complete is complete


@pytest.mark.parametrize(
    ("status", "final"),
    [("met", True), ("missed", True), ("on_track", False), ("done", False)],
)
def test_met_and_missed_are_verdicts_and_a_providers_done_is_not(status, final):
    assert MilestoneFact(1, "Day 30", date(2026, 4, 1), status).is_final is final


def test_a_subject_is_immutable_and_starts_with_every_date_unset():
    subject = Subject(state="discovery", today=date(2026, 3, 2))
    assert dict(subject.dates) == dict.fromkeys(DATE_KEYS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        subject.state = "trial"  # type: ignore[misc]
    with pytest.raises(TypeError):
        subject.dates["trial_end"] = date(2026, 6, 1)  # type: ignore[index]
    other = Subject(state="discovery", today=date(2026, 3, 2))
    assert other.dates is not subject.dates  # each subject gets its own mapping
