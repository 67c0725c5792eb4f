"""Who may own an engagement or be its internal technical contact, as the engagement
form's two person pickers offer and read them (issue 29): a page of suggestions matching
typed text, and the one allowed person a submitted "Name <email>" names.

The service itself still checks the role of whoever is saved (`engagements`), so a
script's id is held to the same rule as a picked name.
"""

from __future__ import annotations

from sqlalchemy import or_, select

from tracker.models import Role, User
from tracker.services.core.people import people_page, person_named

KINDS = ("owner", "contact")


def _allowed(kind: str):
    """Active managers and admins own engagements; any active client-side user may be the
    technical contact."""
    if kind == "owner":
        return User.is_active.is_(True) & User.role.in_((Role.MANAGER, Role.ADMIN))
    return User.is_active.is_(True) & (User.role != Role.PROVIDER)


def choices(kind: str, text: str, page: int) -> tuple[list[str], bool]:
    """A page of the people who may be `kind` whose name or address contains the text, as
    "Name <email>", and whether more follow."""
    return people_page(select(User.name, User.email).where(_allowed(kind)), text, page)


def person_from_text(kind: str, text: str, keep: int | None = None) -> int | None:
    """The person a picker's text names: "Name <email>" or an address of someone who may
    be `kind`, or of `keep` (who holds the role now, e.g. an owner since deactivated, so
    saving other fields keeps them); an id as a script posts it (the service checks its
    role on saving). None when it names nobody who may be chosen."""
    allowed = _allowed(kind) if keep is None else or_(_allowed(kind), User.id == keep)
    return person_named(text, allowed, id_checked_later=True)
