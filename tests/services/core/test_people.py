"""people_page, the one query behind every person picker's suggestions (issue 29): the
caller's WHERE decides who, the text filters name or address with its wildcards taken
literally, pages of 20 by name then address, and whether another page follows."""

from __future__ import annotations

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Role, User
from tracker.services.core.people import (
    PEOPLE_PER_PAGE,
    people_page,
    person_named,
    picked_address,
)


def _people(rows) -> None:
    db.session.execute(
        User.__table__.insert(),
        [
            {"email": email, "name": name, "role": role, "is_active": True,
             "timezone": "UTC", "session_nonce": email}
            for name, email, role in rows
        ],
    )  # fmt: skip
    db.session.commit()


def test_the_callers_clause_decides_who_and_the_text_matches_name_or_address(ctx):
    _people(
        [
            ("Zed Rowe", "zed@example.com", "manager"),
            ("Ann Byrne", "ann.rowe@example.com", "stakeholder"),
            ("Ann Byrne", "ann@example.com", "manager"),  # a namesake: ordered by address
            ("Rowena Kay", "kay@example.com", "provider"),
        ]
    )
    every = select(User.name, User.email)
    assert people_page(every, "ROWE", 1) == (
        ["Ann Byrne <ann.rowe@example.com>", "Rowena Kay <kay@example.com>",
         "Zed Rowe <zed@example.com>"],
        False,
    )  # fmt: skip
    managers = every.where(User.role == Role.MANAGER)
    assert people_page(managers, "", 1) == (
        ["Ann Byrne <ann@example.com>", "Zed Rowe <zed@example.com>"],
        False,
    )


def test_wildcards_in_the_text_are_literal(ctx):
    _people([("Per Cent", "pc@example.com", "manager"), ("100% Sure", "s@example.com", "manager")])
    every = select(User.name, User.email)
    assert people_page(every, "%", 1) == (["100% Sure <s@example.com>"], False)
    assert people_page(every, "_", 1) == ([], False)


def test_pages_of_twenty_say_whether_another_follows(ctx):
    _people([(f"Many {n:02d}", f"m{n}@example.com", "manager") for n in range(41)])
    every = select(User.name, User.email)
    first, more = people_page(every, "many", 1)
    assert len(first) == PEOPLE_PER_PAGE == 20 and more is True
    assert first[0] == "Many 00 <m0@example.com>"
    second, more = people_page(every, "many", 2)
    assert second[0] == "Many 20 <m20@example.com>" and more is True
    assert people_page(every, "many", 3) == (["Many 40 <m40@example.com>"], False)
    assert people_page(every, "many", 4) == ([], False)


def test_the_address_a_picked_text_names():
    assert picked_address("Ann Byrne <Ann@Example.com>") == "ann@example.com"
    assert picked_address("  ann@example.com ") == "ann@example.com"
    assert picked_address("Ann Byrne") is None
    assert picked_address("Ann <not an address>") is None


def test_the_person_a_picked_text_names_among_those_allowed(ctx):
    _people(
        [("Ann Byrne", "ann@example.com", "manager"), ("Pia Vendor", "pia@v.example", "provider")]
    )
    ann, pia = db.session.execute(select(User.id).order_by(User.email)).scalars().all()
    managers = User.role == Role.MANAGER
    assert person_named("Ann B <ANN@example.com>", managers, id_checked_later=False) == ann
    assert person_named(" ann@example.com ", managers, id_checked_later=False) == ann
    assert person_named("Pia Vendor <pia@v.example>", managers, id_checked_later=False) is None
    assert person_named("Ann Byrne", managers, id_checked_later=False) is None  # no address
    assert person_named(str(pia), managers, id_checked_later=False) is None
    assert person_named(str(ann), managers, id_checked_later=False) == ann
    assert person_named(str(pia), managers, id_checked_later=True) == pia  # the service checks it
