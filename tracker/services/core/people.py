"""People as the pickers show and read them (issue 29): a page of "Name <email>" labels
matching typed text, and the one allowed person a submitted text names.

Each picker decides *who* may be offered (a WHERE over `User`); how a page of them is
found, ordered and labelled is this one function, so every picker pages alike.
"""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, Select, func, select

from tracker.extensions import db
from tracker.models import User

PEOPLE_PER_PAGE = 20
_ADDRESS = re.compile(r"<([^<>\s]+@[^<>\s]+)>\s*$")


def like_pattern(text: str) -> str:
    """A LIKE pattern finding the text anywhere, its wildcards escaped (use escape="\\")."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def people_page(statement: Select, text: str, page: int) -> tuple[list[str], bool]:
    """The `page`th 20 of the people `statement` (a `select(User.name, User.email)` with
    the picker's own WHERE) whose name or address contains `text`, case-insensitively, as
    "Name <email>" by name then address; and whether another page follows."""
    if text:
        pattern = like_pattern(text)
        statement = statement.where(
            func.lower(User.name).like(pattern, escape="\\")
            | func.lower(User.email).like(pattern, escape="\\")
        )
    rows = db.session.execute(
        statement.order_by(User.name, User.email)
        .offset((page - 1) * PEOPLE_PER_PAGE)
        .limit(PEOPLE_PER_PAGE + 1)
    ).all()
    labels = [f"{name} <{email}>" for name, email in rows[:PEOPLE_PER_PAGE]]
    return labels, len(rows) > PEOPLE_PER_PAGE


def picked_address(text: str) -> str | None:
    """The address a picker's text names, lower-cased: the one in "Name <email>", or the
    text itself when it is an address; None when it names no address."""
    found = _ADDRESS.search(text.strip())
    address = (found.group(1) if found else text.strip()).lower()
    return address if "@" in address else None


def person_named(text: str, allowed: ColumnElement[bool], *, id_checked_later: bool) -> int | None:
    """The id of the one person `allowed` (a WHERE over `User`) that a picker's text names
    by "Name <email>" or address; None when it names nobody allowed. An id (what a script
    posts) is taken as it is when `id_checked_later` (the service refuses a wrong one on
    saving), else it too must be allowed."""
    text = text.strip()
    if text.isdigit():
        if id_checked_later:
            return int(text)
        condition = User.id == int(text)
    else:
        address = picked_address(text)
        if address is None:
            return None
        condition = func.lower(User.email) == address
    return db.session.scalar(select(User.id).where(condition, allowed))
