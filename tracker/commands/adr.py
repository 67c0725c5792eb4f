"""`flask adr export|import`: move an engagement's ADRs to and from standard ADR tool layouts."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from tracker.errors import TrackerError

cli = AppGroup("adr", help="Export and import architecture decision records.")
PROFILE_CHOICE = click.Choice(["adr-tools", "madr", "log4brains"])


def _actor(email: str | None):
    """The user the command acts as (default: the first admin)."""
    from sqlalchemy import select

    from tracker.extensions import db
    from tracker.models import Role, User

    query = (
        select(User).where(User.email == email.lower())
        if email
        else select(User).where(User.role == Role.ADMIN, User.is_active.is_(True)).order_by(User.id)
    )
    user = db.session.scalars(query).first()
    if user is None:
        raise click.ClickException(f"No user {email}." if email else "No admin user exists.")
    return user


def _fail(error: TrackerError):
    lines = [error.message] + [f"  {k}: {'; '.join(map(str, v))}" for k, v in error.errors.items()]
    raise click.ClickException("\n".join(lines))


@cli.command("export")
@click.argument("engagement", type=int)
@click.option("--profile", type=PROFILE_CHOICE, default="adr-tools", show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--as-user", "as_user", help="Act as this user (default: the first admin).")
def export_command(engagement, profile, out, as_user):
    """Write ENGAGEMENT's ADRs as a zip in the layout PROFILE's tools read."""
    from tracker.services.exchange import adr_exchange

    try:
        data = adr_exchange.export_zip(_actor(as_user), engagement, profile)
    except TrackerError as error:
        _fail(error)
    out.write_bytes(data)
    click.echo(f"Wrote {out} ({profile}).")


@cli.command("import")
@click.argument("engagement", type=int)
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--as-user", "as_user", help="Act as this user (default: the first admin).")
def import_command(engagement, source, as_user):
    """Import ADR files from SOURCE (a folder or a zip) into ENGAGEMENT; all or nothing."""
    from tracker.services.exchange import adr_exchange

    try:
        if source.is_dir():
            files = adr_exchange.files_from_folder(source)
        else:
            files = adr_exchange.files_from_zip(source.read_bytes())
        created = adr_exchange.import_files(_actor(as_user), engagement, files)
    except TrackerError as error:
        _fail(error)
    click.echo(f"Imported {len(created)} ADR(s) into engagement {engagement}.")
