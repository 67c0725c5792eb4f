"""Moving live engagements from one version of a workflow definition to another.

The pure planning is workflows.plan_migration; this module finds the engagements,
applies the moves one transaction per engagement (state, version, hash, pending
timers, an audit row of kind "migration") and reports what happened to each.
`flask workflows migrate` and the admin page (/admin/workflows/<name>/migrate) both
call `migrate_engagements`. A dry run goes through the same steps, flush and derived
data included, and rolls each engagement back instead of committing it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from sqlalchemy import select

from tracker.errors import ConcurrentUpdate, Forbidden, TrackerError, ValidationFailed
from tracker.extensions import db
from tracker.models import Engagement, Role, User, WorkflowTimer
from tracker.services.core import audit
from tracker.services.core.transactions import commit_and_derive, losing_race_is_conflict
from tracker.services.workflow.workflow_registry import definition_for
from workflows import Definition, MigrationResult, plan_migration

CLI_LABEL = "flask workflows migrate"


@dataclass(frozen=True)
class EngagementMove:
    """What migrating one engagement would do (or did), or every reason it cannot."""

    engagement_id: int
    title: str
    from_version: int
    from_state: str
    to_state: str
    ok: bool
    problems: tuple[str, ...] = ()
    moved: bool = False


@dataclass
class MigrationReport:
    """The outcome of one migrate run, per engagement."""

    name: str
    to_version: int
    dry_run: bool
    moves: list[EngagementMove] = field(default_factory=list)
    closed_skipped: int = 0

    @property
    def blocked(self) -> list[EngagementMove]:
        """Engagements that cannot (or could not) move."""
        return [move for move in self.moves if not move.ok]

    @property
    def ok(self) -> bool:
        """True when every engagement that needed to move can (or did)."""
        return not self.blocked


def migrate_engagements(
    name: str,
    to_version: int,
    state_map: Mapping[str, str] | None = None,
    *,
    dry_run: bool = True,
    actor: User | None = None,
) -> MigrationReport:
    """Plan (dry run) or move every open engagement on another version of `name`."""
    if actor is not None and actor.role != Role.ADMIN:
        raise Forbidden("Only an admin may migrate engagements to another workflow version.")
    state_map = dict(state_map or {})
    to_def = definition_for(name, to_version)
    groups = _engagements_by_version(name, to_version)
    sources = {version: _source_definition(name, version) for version in groups}
    _check_map(state_map, [d for d in sources.values() if isinstance(d, Definition)], to_def)
    report = MigrationReport(name, to_version, dry_run)
    for version, engagement_ids in sorted(groups.items()):
        for engagement_id in engagement_ids:
            move = _migrate_one(engagement_id, sources[version], to_def, state_map, report, actor)
            if move is not None:
                report.moves.append(move)
    db.session.rollback()  # a dry run, or a blocked engagement, leaves nothing behind
    return report


def _engagements_by_version(name: str, to_version: int) -> dict[int, list[int]]:
    rows = db.session.execute(
        select(Engagement.workflow_version, Engagement.id)
        .where(Engagement.workflow_name == name, Engagement.workflow_version != to_version)
        .order_by(Engagement.id)
    )
    groups: dict[int, list[int]] = {}
    for version, engagement_id in rows:
        groups.setdefault(version, []).append(engagement_id)
    return groups


def _source_definition(name: str, version: int) -> Definition | TrackerError:
    """The definition engagements are on now, or why it cannot be loaded."""
    try:
        return definition_for(name, version)
    except TrackerError as exc:
        return exc


def _check_map(state_map: dict[str, str], sources: list[Definition], to_def: Definition) -> None:
    """Refuse a --map that names states no source version or the target does not have."""
    errors = []
    known = {state for definition in sources for state in definition.states}
    for old, new in sorted(state_map.items()):
        if sources and old not in known:
            versions = ", ".join(f"v{d.version}" for d in sources)
            errors.append(f"'{old}' is not a state of {to_def.name} {versions}")
        if new not in to_def.states:
            states = ", ".join(to_def.states)
            errors.append(f"'{new}' is not a state of v{to_def.version} (states: {states})")
    if errors:
        raise ValidationFailed("The state map is invalid.", errors={"map": errors})


def _migrate_one(engagement_id, source, to_def, state_map, report, actor) -> EngagementMove | None:
    """Plan one engagement; move it in its own transaction unless this is a dry run."""
    engagement = db.session.get(Engagement, engagement_id)
    base = EngagementMove(
        engagement.id, engagement.title, engagement.workflow_version, engagement.state, "", False
    )
    if not isinstance(source, Definition):
        return replace(base, to_state=engagement.state, problems=(source.message,))
    if engagement.closed_at is not None or engagement.state in source.final_states:
        report.closed_skipped += 1
        return None
    own_map = {old: new for old, new in state_map.items() if old in source.states}
    [plan] = plan_migration(source, to_def, {engagement.id: engagement.state}, own_map)
    plan = _check_hold(plan, engagement.paused_from_state, own_map, to_def)
    move = replace(base, to_state=plan.to_state, ok=plan.ok, problems=plan.problems)
    if not plan.ok:
        return move
    _apply(engagement, plan, (source, to_def), own_map, actor)
    try:
        _finish(report.dry_run)
    except ConcurrentUpdate as exc:
        return replace(move, ok=False, problems=(exc.message,))
    return replace(move, moved=not report.dry_run)


def _check_hold(plan: MigrationResult, paused_from, state_map, to_def) -> MigrationResult:
    """On hold, resume must find its state in the target: else a problem naming the map."""
    if paused_from is None:
        return plan
    target = state_map.get(paused_from, paused_from)
    if target in to_def.states:
        return plan
    problem = (
        f"on hold from '{paused_from}', which {to_def.name} v{to_def.version} does not have, "
        f"so resume would have nowhere to return to; map it with --map {paused_from}=<state> "
        f"(states: {', '.join(to_def.states)})"
    )
    return replace(plan, ok=False, problems=(*plan.problems, problem))


def _finish(dry_run: bool) -> None:
    """Commit one engagement's move; a dry run flushes it (every check runs) and rolls back."""
    if not dry_run:
        commit_and_derive()
        return
    try:
        with losing_race_is_conflict():
            db.session.flush()
    finally:
        db.session.rollback()


def parse_state_map(values) -> dict[str, str]:
    """'old=new' items (a list, or one string split on commas and lines) -> {old: new}."""
    if isinstance(values, str):
        values = [v for line in values.splitlines() for v in line.split(",")]
    mapping: dict[str, str] = {}
    errors = []
    for value in values:
        if not value.strip():
            continue
        old, sep, new = value.partition("=")
        old, new = old.strip(), new.strip()
        if not sep or not old or not new:
            errors.append(f"'{value.strip()}' is not old=new")
        elif old in mapping and mapping[old] != new:
            errors.append(f"'{old}' is mapped twice")
        else:
            mapping[old] = new
    if errors:
        raise ValidationFailed("The state map is invalid.", errors={"map": errors})
    return mapping


def _apply(
    engagement: Engagement,
    plan: MigrationResult,
    definitions: tuple[Definition, Definition],
    state_map: dict[str, str],
    actor: User | None,
) -> None:
    """Change state, version and hash, carry the pending timers over, write the audit row."""
    source, to_def = definitions
    engagement.state = plan.to_state
    engagement.workflow_version = to_def.version
    engagement.workflow_hash = to_def.content_hash
    paused_from = engagement.paused_from_state
    if paused_from is not None:  # resume returns to the mapped state (checked in _check_hold)
        engagement.paused_from_state = state_map.get(paused_from, paused_from)
    timers = _carry_timers(engagement.id, plan.from_state, plan.to_state, to_def)
    entry = audit.record(
        engagement,
        actor,
        "migration",
        from_state=plan.from_state,
        to_state=plan.to_state,
        reason=f"Migrated {to_def.name} from v{source.version} to v{to_def.version}",
        data={
            "from_version": source.version,
            "to_version": to_def.version,
            "from_hash": source.content_hash,
            "to_hash": to_def.content_hash,
            "state_map": state_map,
            "timers": timers,
            **(
                {"paused_from": [paused_from, engagement.paused_from_state]}
                if paused_from is not None
                else {}
            ),
        },
    )
    if actor is None:
        entry.actor_label = CLI_LABEL


def _carry_timers(engagement_id: int, old: str, new: str, to_def: Definition) -> dict[str, int]:
    """Pending timers follow a renamed state; those the new version cannot fire are cancelled."""
    counts = {"kept": 0, "cancelled": 0}
    pending = db.session.scalars(
        select(WorkflowTimer).where(
            WorkflowTimer.engagement_id == engagement_id,
            WorkflowTimer.status == "pending",
            WorkflowTimer.from_state == old,
        )
    )
    for timer in pending:
        transition = to_def.find_transition(new, timer.event)
        if transition is not None and "system" in transition.roles:
            timer.from_state = new
            counts["kept"] += 1
        else:
            timer.status = "cancelled"
            counts["cancelled"] += 1
    return counts
