"""`flask digests ...` commands."""

from flask.cli import AppGroup

cli = AppGroup("digests", help="digests commands.")
