"""`flask ...` commands: thin wrappers over services."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from tracker.errors import TrackerError
from tracker.models.base import Role

# Who the audit trail says acted when a command, not a signed-in person, creates a user.
CLI_LABEL = "Command line (flask users create)"

users_cli = AppGroup("users", help="Manage users.")
tokens_cli = AppGroup("tokens", help="Manage personal API tokens.")


def _fail(error: TrackerError) -> None:
    """Print a service error with its field messages and exit non-zero."""
    click.echo(f"Error: {error.message}", err=True)
    for field, messages in error.errors.items():
        click.echo(f"  {field}: {'; '.join(map(str, messages))}", err=True)
    raise SystemExit(1)


@users_cli.command("create")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@click.option("--provider", help="Provider organisation (provider users only).")
@click.option("--timezone", default="UTC", show_default=True)
@click.password_option(help="Prompted for when not given.")
def create_user_command(email, name, role, provider, timezone, password):
    """Create a user who can sign in."""
    from tracker.services.administration import users

    try:
        user = users.create_user(
            email=email,
            name=name,
            role=role,
            password=password,
            provider=provider,
            timezone=timezone,
            recorded_as=CLI_LABEL,
        )
    except TrackerError as error:
        _fail(error)
    click.echo(f"Created {user.role} {user.email} (id {user.id}).")


@users_cli.command("set-password")
@click.argument("email")
@click.password_option(help="Prompted for when not given.")
def set_password_command(email, password):
    """Give a user a new password (the policy applies); their sessions end."""
    from tracker.services.administration import users

    try:
        users.set_password(users.get_user_by_email(email), password)
    except TrackerError as error:
        _fail(error)
    click.echo(f"Password changed for {email}; their sessions were signed out.")


@tokens_cli.command("create")
@click.argument("email")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
def create_token_command(email, name):
    """Create an API token for a user and print it once."""
    from tracker.services.administration import users

    try:
        token, secret = users.create_token(users.get_user_by_email(email), name)
    except TrackerError as error:
        _fail(error)
    click.echo(secret)
    click.echo(f"Token {token.prefix}… created for {email}; it is not shown again.", err=True)


@click.command("seed-demo")
@click.option("--scale", type=int, default=0, help="Also generate N synthetic engagements.")
@click.option("--seed", type=int, default=42, show_default=True)
@with_appcontext
def seed_demo_command(scale, seed):
    """Load the demo data set (idempotent: running it twice changes nothing)."""
    from tracker.demo import seed as demo

    created = demo.seed_demo()
    click.echo("Demo data loaded." if created else "Demo data already present; nothing to do.")
    if scale:
        from tracker.demo import scale_data

        count = scale_data.generate(scale, seed=seed)
        click.echo(f"Generated {count} synthetic engagements.")
    for row in demo.DEMO_USERS:
        click.echo(f"  {row['role']:<12} {row['email']:<32} {demo.DEMO_PASSWORD}")


def init_app(app: Flask) -> None:
    """Attach every command group to the app's CLI."""
    app.cli.add_command(users_cli)
    app.cli.add_command(tokens_cli)
    app.cli.add_command(seed_demo_command)
    for name in ("workflows", "scheduler", "digests", "adr", "outbox", "counts"):
        _add_optional_group(app, name)


def _add_optional_group(app: Flask, name: str) -> None:
    """A command group from tracker/commands/<name>.py (its module-level `cli` group)."""
    import importlib

    module = importlib.import_module(f"tracker.commands.{name}")
    app.cli.add_command(module.cli)
