"""`flask counts check|recount`: the dashboard's kept counts of engagements (ADR 0259)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

cli = AppGroup("counts", help="The kept counts of engagements per state and health.")


def _describe(counts: tuple[dict[str, int], dict[str, int]]) -> str:
    by_state, by_health = counts
    states = ", ".join(f"{state} {n}" for state, n in sorted(by_state.items())) or "none"
    healths = ", ".join(f"{health} {n}" for health, n in sorted(by_health.items())) or "none"
    return f"by state: {states}; live, by health: {healths}"


@cli.command("check")
def check_command():
    """Compare the kept counts with the engagement rows; exit 1 if they differ."""
    from tracker.services.judgments import engagement_counts

    kept, rows = engagement_counts.kept_and_afresh()
    click.echo(f"kept:     {_describe(kept)}")
    click.echo(f"the rows: {_describe(rows)}")
    if kept != rows:
        raise click.ClickException(
            "the kept counts differ from the rows: run `flask counts recount`"
        )
    click.echo("the kept counts match the rows")


@cli.command("recount")
def recount_command():
    """Count every engagement again (after rows were edited outside the app)."""
    from tracker.services.judgments import engagement_counts

    click.echo(f"recounted: {_describe(engagement_counts.recount_now())}")
