"""URL converters: every `<int:…>` id in a route is bounded like the API's.

Flask's own `int` converter accepts any length of digits, so
`/engagements/99999999999999999999` reached the database and overflowed
(SQLite `OverflowError`, a 500). Ids here are positive and fit a 32-bit
integer column; anything else does not match the route and answers 404.
"""

from flask import Flask
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1


class BoundedIdConverter(IntegerConverter):
    """`int` with min=1 and max=2^31-1 unless a route names its own bounds."""

    # The parameter names are werkzeug's (rules pass them by keyword: `int(max=…)`).
    def __init__(self, map, fixed_digits=0, min=1, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def init_app(app: Flask) -> None:
    """Replace `int` before any blueprint adds a rule (rules bind converters when added)."""
    app.url_map.converters["int"] = BoundedIdConverter
