"""`flask adr ...` commands."""

from flask.cli import AppGroup

cli = AppGroup("adr", help="adr commands.")
