"""Drills, access entries and exit confirmations as the workflow engine's plain facts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.orm import aliased

from tracker.extensions import db
from tracker.models import AccessEntry, Drill, ExitConfirmation, Role, ShadowAssignment, User
from workflows import AccessFact, DrillFact, ExitFact

# Each statement built once, the engagement ids an expanding parameter: readiness reads
# these at every commit that touches its inputs, and an `aliased(User)` made per call
# re-adapted its columns each time (ADR 0238).
_IDS = bindparam("ids", expanding=True)
_REVOKER, _VERIFIER = aliased(User, name="revoker"), aliased(User, name="verifier")
_DRILLS = (
    select(Drill.engagement_id, Drill.id, ShadowAssignment.member_id, Drill.area)
    .add_columns(Drill.outcome, Drill.performed_on, User.name, User.role)
    .join(ShadowAssignment, ShadowAssignment.id == Drill.shadow_id)
    .join(User, User.id == Drill.performed_by_id)
    .where(Drill.engagement_id.in_(_IDS))
    .order_by(Drill.id)
)
_ACCESS = (
    select(AccessEntry.engagement_id, AccessEntry.id, AccessEntry.member_id)
    .add_columns(AccessEntry.system, AccessEntry.account, _REVOKER.name, _VERIFIER.name)
    .outerjoin(_REVOKER, _REVOKER.id == AccessEntry.revoked_by_id)
    .outerjoin(_VERIFIER, _VERIFIER.id == AccessEntry.verified_by_id)
    .where(AccessEntry.engagement_id.in_(_IDS))
    .order_by(AccessEntry.member_id, AccessEntry.id)
)
_EXITS = select(ExitConfirmation).where(ExitConfirmation.engagement_id.in_(_IDS))


def drill_facts(ids: Iterable[int]) -> dict[int, tuple[DrillFact, ...]]:
    """Every drill of these engagements, one query, grouped by engagement."""
    grouped: dict[int, list[DrillFact]] = defaultdict(list)
    rows = db.session.execute(_DRILLS, {"ids": list(ids)})
    for eng, id_, member, area, outcome, day, name, role in rows:
        fact = DrillFact(id_, member, area, outcome, day, name, role != Role.PROVIDER)
        grouped[eng].append(fact)
    return {i: tuple(v) for i, v in grouped.items()}


def access_facts(ids: Iterable[int], member_names: dict[int, str]) -> dict[int, tuple]:
    """Every access entry of these engagements with who revoked and verified it, one query."""
    grouped: dict[int, list[AccessFact]] = defaultdict(list)
    rows = db.session.execute(_ACCESS, {"ids": list(ids)})
    for eng, id_, member, system, account, revoked_by, verified_by in rows:
        name = member_names.get(member, "A team member")
        grouped[eng].append(AccessFact(id_, member, name, system, account, revoked_by, verified_by))
    return {i: tuple(v) for i, v in grouped.items()}


def exit_facts(ids: Iterable[int]) -> dict[int, ExitFact]:
    """The exit confirmation of each engagement (an empty ExitFact where none is recorded)."""
    return {
        row.engagement_id: exit_fact(row) for row in db.session.scalars(_EXITS, {"ids": list(ids)})
    }


def exit_fact(row: ExitConfirmation | None) -> ExitFact:
    """One exit confirmation row as the engine's fact (an empty fact for no row)."""
    if row is None:
        return ExitFact()
    return ExitFact(
        ip_assignment_confirmed=row.ip_assignment_confirmed_on is not None,
        ip_document_url=row.ip_document_url or "",
        data_disposition=row.data_disposition,
        data_certificate_url=row.data_certificate_url or "",
        artifacts_transferred_to=row.artifacts_transferred_to or "",
    )


def access_facts_of(entries: Iterable, member_names: dict[int, str]) -> tuple[AccessFact, ...]:
    """Loaded access entries (with who revoked and verified them) as the engine's facts, in
    the order `access_facts` reads them: member by member, then as granted."""
    return tuple(
        AccessFact(
            e.id,
            e.member_id,
            member_names.get(e.member_id, "A team member"),
            e.system,
            e.account,
            e.revoked_by.name if e.revoked_by is not None else None,
            e.verified_by.name if e.verified_by is not None else None,
        )
        for e in sorted(entries, key=lambda e: (e.member_id, e.id))
    )


def handover_facts(ids: list[int], member_names: dict[int, str]) -> dict[int, dict]:
    """The Subject's `drills`, `access` and `exit` for each engagement: three queries."""
    drills, access, exits = drill_facts(ids), access_facts(ids, member_names), exit_facts(ids)
    return {
        i: {
            "drills": drills.get(i, ()),
            "access": access.get(i, ()),
            "exit": exits.get(i, ExitFact()),
        }
        for i in ids
    }
