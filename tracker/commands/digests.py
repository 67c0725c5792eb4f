"""`flask digests ...` commands: preview a user's digest, or send the digests due now."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click
from flask.cli import AppGroup

cli = AppGroup("digests", help="Stakeholder digests: preview and send.")


def _instant(value: str | None) -> datetime | None:
    if not value:
        return None
    instant = datetime.fromisoformat(value)
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


@cli.command("preview")
@click.argument("email")
@click.option("--html", "as_html", is_flag=True, help="Print the HTML part instead of the text.")
def preview_command(email, as_html):
    """Print the digest EMAIL would get now (their first active subscription, else 'all')."""
    from tracker.auth import find_user_by_email
    from tracker.notifications.digests import preview

    user = find_user_by_email(email)
    if user is None:
        raise click.BadParameter(f"no user with email {email!r}", param_hint="EMAIL")
    message = preview(user)
    click.echo(f"Subject: {message.subject}\n")
    click.echo(message.html if as_html else message.text)


@cli.command("run-due")
@click.option("--now", "now_text", help="Pretend it is this ISO instant (UTC if no offset).")
def run_due_command(now_text):
    """Materialise and queue every digest due now (the scheduler tick does this too)."""
    from tracker.notifications.digests import run_due

    try:
        now = _instant(now_text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--now") from exc
    result = run_due(now)
    click.echo(json.dumps({"sent": result.sent, "skipped": result.skipped}))
