"""Day arithmetic in SQL that means the same on SQLite and PostgreSQL.

`day_number(x)` is a date's day count (Julian day on SQLite, days since the epoch on
PostgreSQL; only differences between two of them are used), `larger`/`smaller` the
two-argument maximum and minimum (`max`/`min` on SQLite, `greatest`/`least` on
PostgreSQL). Each compiles for the dialect at hand, so one statement serves both.
"""

from __future__ import annotations

from sqlalchemy import Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class day_number(FunctionElement):  # noqa: N801 - used like a SQL function
    """Days of a date or timestamp column, comparable by subtraction."""

    type = Float()
    inherit_cache = True
    name = "day_number"


@compiles(day_number)
def _day_number_sqlite(element, compiler, **kw):
    return f"julianday(date({compiler.process(element.clauses, **kw)}))"


@compiles(day_number, "postgresql")
def _day_number_postgresql(element, compiler, **kw):
    return f"(CAST({compiler.process(element.clauses, **kw)} AS date) - DATE '1970-01-01')"


class larger(FunctionElement):  # noqa: N801
    """The larger of two values."""

    type = Float()
    inherit_cache = True
    name = "larger"


@compiles(larger)
def _larger_sqlite(element, compiler, **kw):
    return f"max({compiler.process(element.clauses, **kw)})"


@compiles(larger, "postgresql")
def _larger_postgresql(element, compiler, **kw):
    return f"greatest({compiler.process(element.clauses, **kw)})"


class smaller(FunctionElement):  # noqa: N801
    """The smaller of two values."""

    type = Float()
    inherit_cache = True
    name = "smaller"


@compiles(smaller)
def _smaller_sqlite(element, compiler, **kw):
    return f"min({compiler.process(element.clauses, **kw)})"


@compiles(smaller, "postgresql")
def _smaller_postgresql(element, compiler, **kw):
    return f"least({compiler.process(element.clauses, **kw)})"
