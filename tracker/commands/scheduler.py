"""`flask scheduler ...` commands."""

from flask.cli import AppGroup

cli = AppGroup("scheduler", help="scheduler commands.")
