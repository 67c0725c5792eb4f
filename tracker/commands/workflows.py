"""`flask workflows ...` commands."""

from flask.cli import AppGroup

cli = AppGroup("workflows", help="workflows commands.")
