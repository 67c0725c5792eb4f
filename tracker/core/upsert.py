"""INSERT ... ON CONFLICT for the two databases the tracker runs on.

SQLAlchemy spells the statement per dialect (`postgresql.insert`, `sqlite.insert`);
`insert(model)` picks the one for the session's database, so callers write
`.on_conflict_do_nothing(...)` or `.on_conflict_do_update(...)` once.
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite

from tracker.extensions import db


def insert(model, dialect: str | None = None):
    """An INSERT for `model` (or a table) with the ON CONFLICT clauses of `dialect`, by
    default the session's database."""
    dialect = dialect or db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)
