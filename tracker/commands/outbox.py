"""`flask outbox retry`: requeue failed emails once the relay is fixed."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

cli = AppGroup("outbox", help="The email outbox.")


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            "expected an ISO date or time, e.g. 2026-12-01 or 2026-12-01T09:30+01:00",
            param_hint="--failed-since",
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@cli.command("retry")
@click.option("--failed-since", help="Only emails given up on at or after this ISO time (UTC).")
@click.option("--category", help="Only this category (reminder, digest, webhook, security...).")
def retry_command(failed_since, category):
    """Requeue failed emails: due at once, attempts reset, same Message-ID."""
    from tracker.core import clock
    from tracker.services.messaging import outbox_admin

    since = _since(failed_since)
    if category and category not in outbox_admin.outbox_categories():
        raise click.BadParameter(f"no email has category {category!r}", param_hint="--category")
    count = outbox_admin.requeue_failed(clock.now(), failed_since=since, category=category)
    click.echo(f"requeued {count} failed email{'s' if count != 1 else ''}")
