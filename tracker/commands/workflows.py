"""`flask workflows ...` commands: validate, sync, list, diagram and migrate definitions."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from tracker.errors import TrackerError
from workflows import to_dot, to_mermaid, to_svg

cli = AppGroup("workflows", help="Validate, draw and migrate workflow definitions.")

RENDERERS = {"mermaid": to_mermaid, "dot": to_dot, "svg": to_svg}


def _fail(error: TrackerError) -> None:
    """Print a service error with its field messages and exit 1."""
    click.echo(f"Error: {error.message}", err=True)
    for field, messages in error.errors.items():
        for message in messages:
            click.echo(f"  {field}: {message}", err=True)
    raise SystemExit(1)


def _print_report(report) -> None:
    for warning in report.warnings:
        click.echo(f"Warning: {warning}", err=True)
    for error in report.errors:
        click.echo(error, err=True)
    if not report.ok:
        click.echo(f"{len(report.errors)} error(s).", err=True)
        raise SystemExit(1)
    for definition in report.definitions:
        click.echo(
            f"OK {Path(definition.source).name}: {definition.name} v{definition.version}, "
            f"{len(definition.states)} states, {len(definition.transitions)} transitions, "
            f"sha256 {definition.content_hash[:12]}"
        )


@cli.command("validate")
@click.argument("path", required=False, type=click.Path(path_type=Path))
def validate_command(path):
    """Check a definition file or directory (default WORKFLOW_DIR); exit 1 on any error."""
    from tracker.services.workflow.workflow_registry import validate_path

    _print_report(validate_path(path or current_app.config["WORKFLOW_DIR"]))


@cli.command("sync")
def sync_command():
    """Validate WORKFLOW_DIR and record every version not yet recorded (hash and text)."""
    from tracker.services.workflow.workflow_registry import sync_definitions

    try:
        _print_report(sync_definitions())
    except TrackerError as error:
        _fail(error)


@cli.command("list")
def list_command():
    """Every definition version: file, hash, whether recorded, engagements running on it."""
    from tracker.services.workflow.workflow_registry import definition_summaries

    click.echo(f"{'name':<24} {'version':>7}  {'sha256':<12}  {'engagements':>11}  source")
    for row in definition_summaries():
        digest = (row.content_hash or "?")[:12]
        if row.file:
            source = row.file + ("" if row.recorded else " (not recorded yet)")
        else:
            source = "recorded copy (file removed)" if row.recorded else "MISSING"
        counts = f"{row.version:>7}  {digest:<12}  {row.engagements:>11}"
        click.echo(f"{row.name:<24} {counts}  {source}")


@cli.command("diagram")
@click.argument("name")
@click.option("--version", "version", type=int, help="Default: the latest version.")
@click.option(
    "--format", "fmt", type=click.Choice(sorted(RENDERERS)), default="mermaid", show_default=True
)
@click.option("--current", help="A state to highlight.")
def diagram_command(name, version, fmt, current):
    """Print the lifecycle diagram of NAME as Mermaid, Graphviz DOT or SVG."""
    from tracker.services.workflow.workflow_registry import catalog, stored_definition
    from workflows import UnknownDefinition

    try:
        definition = catalog().get(name, version)
    except UnknownDefinition as exc:
        if version is None:
            raise click.UsageError(str(exc)) from None
        try:
            definition = stored_definition(name, version)
        except TrackerError as error:
            _fail(error)
    if current is not None and current not in definition.states:
        states = ", ".join(definition.states)
        raise click.BadParameter(f"no state '{current}' (states: {states})", param_hint="--current")
    click.echo(RENDERERS[fmt](definition, current=current), nl=False)


def _parse_map(ctx, param, values) -> dict[str, str]:
    """The same parser as the admin page's state map field."""
    from tracker.services.workflow.workflow_migration import parse_state_map

    try:
        return parse_state_map(list(values))
    except TrackerError as error:
        raise click.BadParameter("; ".join(error.errors["map"]), param=param) from None


@cli.command("migrate")
@click.argument("name")
@click.option("--to", "to_version", type=int, required=True, help="The target version.")
@click.option(
    "--map", "state_map", multiple=True, callback=_parse_map, help="old=new (repeatable)."
)
@click.option("--dry-run", is_flag=True, help="Only list what would happen.")
@click.option("--by", "by_email", help="The admin to record in the audit trail.")
def migrate_command(name, to_version, state_map, dry_run, by_email):
    """Move engagements on other versions of NAME to --to; exit 1 if any cannot move."""
    from tracker.services.administration import users
    from tracker.services.workflow.workflow_migration import migrate_engagements

    try:
        actor = users.get_user_by_email(by_email) if by_email else None
        report = migrate_engagements(name, to_version, state_map, dry_run=dry_run, actor=actor)
    except TrackerError as error:
        _fail(error)
    _print_migration(report)
    if not report.ok:
        raise SystemExit(1)


def _print_migration(report) -> None:
    mode = "dry run, nothing is changed" if report.dry_run else "applying"
    click.echo(f"Migrating {report.name} to v{report.to_version} ({mode}):")
    for move in report.moves:
        head = f"  #{move.engagement_id} {move.title!r}: v{move.from_version} {move.from_state}"
        if move.ok:
            verb = "moved" if move.moved else "would move"
            click.echo(f"{head} -> v{report.to_version} {move.to_state}: {verb}")
        else:
            click.echo(f"{head}: CANNOT MOVE")
            for problem in move.problems:
                click.echo(f"      - {problem}")
    _print_migration_summary(report)


def _print_migration_summary(report) -> None:
    able = len(report.moves) - len(report.blocked)
    verb = "would move" if report.dry_run else "moved"
    line = f"{able} {verb}, {len(report.blocked)} cannot move"
    if report.closed_skipped:
        line += f", {report.closed_skipped} closed left on their version"
    click.echo(line + ".")
