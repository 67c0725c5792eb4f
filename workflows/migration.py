"""Dry-run planning of moving live engagements from one definition version to another."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .definition import Definition
from .errors import WorkflowError


@dataclass(frozen=True)
class MigrationResult:
    """What migrating one engagement would do, and every problem that blocks it."""

    engagement_id: int
    from_state: str
    to_state: str
    ok: bool
    problems: tuple[str, ...]


def _problems(state: str, target: str, from_def: Definition, to_def: Definition) -> list[str]:
    found = []
    if state not in from_def.states:
        found.append(f"state '{state}' does not exist in {from_def.name} v{from_def.version}")
    if target not in to_def.states:
        found.append(
            f"state '{target}' does not exist in {to_def.name} v{to_def.version}; "
            f"map it to one that does with --map {target}=<state> "
            f"(states: {', '.join(to_def.states)})"
        )
    elif (
        state in from_def.states
        and from_def.states[state].final
        and not to_def.states[target].final
    ):
        found.append(f"closed engagement would be reopened: '{state}' is final, '{target}' is not")
    return found


def plan_migration(
    from_def: Definition,
    to_def: Definition,
    states: Mapping[int, str],
    state_map: Mapping[str, str] | None = None,
) -> list[MigrationResult]:
    """For each engagement id -> current state, where it would land in `to_def` and what breaks."""
    state_map = dict(state_map or {})
    unknown = sorted(set(state_map) - set(from_def.states))
    if unknown:
        raise WorkflowError(
            f"--map names states that {from_def.name} v{from_def.version} does not have: "
            + ", ".join(unknown)
        )
    results = []
    for engagement_id, state in sorted(states.items()):
        target = state_map.get(state, state)
        problems = tuple(_problems(state, target, from_def, to_def))
        results.append(MigrationResult(engagement_id, state, target, not problems, problems))
    return results
