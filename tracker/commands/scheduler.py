"""`flask scheduler ...` commands: one tick (cron, tests) or the long-running trigger."""

import json

import click
from flask import current_app
from flask.cli import AppGroup

cli = AppGroup("scheduler", help="The scheduler: timers, reminders and the email outbox.")


@cli.command("tick")
def tick_command():
    """Run one tick now; exits 1 when a step raised or any row failed (`failed` per step)."""
    from tracker.scheduling.tick import run_tick

    results = run_tick()
    click.echo(json.dumps(results, sort_keys=True))
    if "failed" in results or any(isinstance(value, str) for value in results.values()):
        raise SystemExit(1)  # a step raised or some of its rows failed (see the log)


@cli.command("run")
def run_command():
    """Tick every SCHEDULER_TICK_SECONDS until SIGTERM (several processes may run at once)."""
    from tracker.scheduling.trigger import run_blocking

    click.echo(f"scheduler: ticking every {current_app.config['SCHEDULER_TICK_SECONDS']} s (UTC)")
    run_blocking(current_app._get_current_object())
