"""Planning a migration between definition versions (workflows/migration.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflows import (
    WorkflowError,
    plan_migration,
)


@pytest.fixture
def renamed(tmp_path, catalog):
    """staff_augmentation v5 where milestone_review is renamed to review."""
    source = Path(catalog.get("staff_augmentation", 5).source)
    text = source.read_text(encoding="utf-8")
    text = text.replace("version = 2", "version = 3").replace("milestone_review", "review")
    path = tmp_path / "staff_augmentation.v3.toml"
    path.write_text(text)
    from workflows import load_definition

    return load_definition(path)


def test_migration_flags_states_missing_in_the_target(catalog, renamed):
    current = catalog.get("staff_augmentation", 5)
    results = plan_migration(current, renamed, {2: "milestone_review", 1: "trial"}, {})
    assert [(r.engagement_id, r.to_state, r.ok) for r in results] == [
        (1, "trial", True),
        (2, "milestone_review", False),
    ]
    assert (
        "state 'milestone_review' does not exist in staff_augmentation v5" in results[1].problems[0]
    )
    assert "--map milestone_review=<state>" in results[1].problems[0]


def test_migration_with_a_map_succeeds(catalog, renamed):
    current = catalog.get("staff_augmentation", 5)
    [result] = plan_migration(
        current, renamed, {7: "milestone_review"}, {"milestone_review": "review"}
    )
    assert (result.from_state, result.to_state, result.ok, result.problems) == (
        "milestone_review",
        "review",
        True,
        (),
    )


def test_migration_refuses_to_reopen_closed_engagements(catalog, renamed):
    current = catalog.get("staff_augmentation", 5)
    [result] = plan_migration(current, renamed, {3: "closed"}, {"closed": "trial"})
    assert not result.ok and "would be reopened" in result.problems[0]


def test_migration_map_must_name_existing_states(catalog, renamed):
    with pytest.raises(WorkflowError, match="reviw"):
        plan_migration(catalog.get("staff_augmentation", 5), renamed, {}, {"reviw": "review"})
