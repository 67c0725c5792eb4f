"""The access register: what each member could reach, revoked by one person, verified by another.

Client-side editors (managers, admins) add entries, revoke them and verify revocations;
the person who revoked an entry cannot verify it (ADR 0210). Providers see their own
(external) members' entries and change none; stakeholders following the engagement read.
Each change is one transaction with its audit row, the bound checklist items and, for a
revocation, the `access.revoked` webhook.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from tracker.auth.permissions import Action, get_visible_engagement, require
from tracker.core import clock
from tracker.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tracker.extensions import db
from tracker.models import AccessEntry, AccessKind, Engagement, Role, TeamMember, User
from tracker.services.core import audit
from tracker.services.core.transactions import (
    check_version,
    commit_and_derive,
    losing_race_is_conflict,
)
from tracker.services.delivery import checklists
from tracker.services.exchange.csv_export import stream_csv
from tracker.services.handover.links import local_today
from tracker.services.messaging.webhook_events import (
    ACCESS_PEOPLE,
    access_entry_data,
    engagement_ref,
)
from tracker.services.messaging.webhooks import queue_event

KINDS = tuple(k.value for k in AccessKind)
_PEOPLE = (*ACCESS_PEOPLE, joinedload(AccessEntry.granted_by))


def visible_entries(actor: User, entries: list[AccessEntry]) -> list[AccessEntry]:
    """Providers see their own people's entries: the external members', never the client's.
    Filters entries loaded with their member (`_PEOPLE`), so one read of the register
    serves both the page and the exit guards, which judge every entry."""
    if actor.role == Role.PROVIDER:
        return [entry for entry in entries if entry.member.is_external]
    return entries


def engagement_entries(engagement_id: int) -> list[AccessEntry]:
    """Every entry of the engagement with its people, member by member (no visibility
    check: callers have one, and show it through `visible_entries`)."""
    return list(db.session.scalars(_OF_ENGAGEMENT, {"engagement_id": engagement_id}))


# Built once, the engagement a bound parameter: it keeps its cache key (issue 29, ADR 0258).
_OF_ENGAGEMENT = (
    select(AccessEntry)
    .where(AccessEntry.engagement_id == bindparam("engagement_id"))
    .options(*_PEOPLE)
    .order_by(AccessEntry.member_id, AccessEntry.id)
)


def _member(actor: User, member_id: int) -> TeamMember:
    member = db.session.get(TeamMember, member_id)
    if member is None:
        raise NotFound("Team member not found.")
    get_visible_engagement(db.session, actor, member.engagement_id, "Team member not found.")
    if actor.role == Role.PROVIDER and not member.is_external:
        raise NotFound("Team member not found.")
    return member


def member_engagement_id(actor: User, member_id: int) -> int:
    """The engagement of a member the actor may see (NotFound otherwise)."""
    return _member(actor, member_id).engagement_id


def list_for_member(actor: User, member_id: int) -> list[AccessEntry]:
    """One member's entries, in the order they were granted."""
    member = _member(actor, member_id)
    query = select(AccessEntry).where(AccessEntry.member_id == member.id).options(*_PEOPLE)
    return list(db.session.scalars(query.order_by(AccessEntry.id)))


def list_for_engagement(actor: User, engagement_id: int) -> list[AccessEntry]:
    """The engagement's register, member by member (what the actor may see of it)."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    return visible_entries(actor, engagement_entries(engagement.id))


def get_entry(actor: User, entry_id: int) -> AccessEntry:
    """One entry the actor may see (else NotFound, as if it did not exist)."""
    entry = db.session.get(AccessEntry, entry_id)
    if entry is None:
        raise NotFound("Access entry not found.")
    _member(actor, entry.member_id)  # the same visibility as the member's
    return entry


def add_entry(actor: User, member_id: int, data: dict) -> AccessEntry:
    """Add a system the member was given access to (client side)."""
    member = _member(actor, member_id)
    engagement = member.engagement
    require(actor, Action.EDIT, engagement)
    _writable(engagement)
    _check(data, local_today(actor))
    entry = AccessEntry(
        engagement_id=engagement.id,
        member_id=member.id,
        system=data["system"].strip(),
        kind=data["kind"],
        account=(data.get("account") or "").strip(),
        granted_on=data.get("granted_on"),
        granted_by_id=actor.id,
    )
    db.session.add(entry)
    db.session.flush()
    audit.record(engagement, actor, "access_added", data=_summary(entry, member))
    checklists.sync_bound_items(engagement)
    commit_and_derive()
    return entry


def revoke_entry(actor: User, entry_id: int, note: str = "", *, expected_version=None):
    """Mark the access revoked, now, by the actor; revoking twice is refused."""
    entry = get_entry(actor, entry_id)
    engagement = entry.engagement
    _may_change(actor, engagement)
    check_version(entry, expected_version, "this access entry")
    if entry.is_revoked:
        who = entry.revoked_by.name if entry.revoked_by else "someone"
        message = f"Already revoked by {who} on {entry.revoked_at:%d %b %Y}."
        raise Conflict("The access is already revoked.", errors={"revoked_at": [message]})
    with losing_race_is_conflict():
        entry.revoked_at, entry.revoked_by_id = clock.now(), actor.id
        entry.revoke_note = (note or "").strip()
        db.session.flush()
    summary = _summary(entry, entry.member) | {"note": entry.revoke_note}
    audit.record(engagement, actor, "access_revoked", data=summary)
    event = {"engagement": engagement_ref(engagement), "access": access_entry_data(entry, actor)}
    queue_event(db.session(), "access.revoked", event, engagement_id=engagement.id)
    checklists.sync_bound_items(engagement)
    commit_and_derive()
    return entry


def verify_entry(actor: User, entry_id: int, how: str, *, expected_version=None):
    """A second person confirms the revocation took effect, and says how they checked."""
    entry = get_entry(actor, entry_id)
    engagement = entry.engagement
    _may_change(actor, engagement)
    check_version(entry, expected_version, "this access entry")
    if not entry.is_revoked:
        message = "Revoke the access before verifying the revocation."
        raise Conflict("The access is not revoked yet.", errors={"revoked_at": [message]})
    if entry.is_verified:
        message = f"Already verified by {entry.verified_by.name if entry.verified_by else '?'}."
        raise Conflict("The revocation is already verified.", errors={"verified_at": [message]})
    if entry.revoked_by_id == actor.id:
        message = "You revoked this access; someone else must verify it."
        raise Forbidden("A second person verifies a revocation.", errors={"verified_by": [message]})
    if not (how or "").strip():
        message = "Say how you checked (e.g. 'checked the GitHub org members list')."
        raise ValidationFailed("The verification needs a method.", errors={"how": [message]})
    with losing_race_is_conflict():
        entry.verified_at, entry.verified_by_id = clock.now(), actor.id
        entry.verify_how = how.strip()
        db.session.flush()
    data = _summary(entry, entry.member) | {"how": entry.verify_how}
    audit.record(engagement, actor, "access_verified", data=data)
    checklists.sync_bound_items(engagement)
    commit_and_derive()
    return entry


def _may_change(actor: User, engagement: Engagement) -> None:
    if actor.role == Role.PROVIDER:
        raise Forbidden("Providers see their members' access; the client revokes and verifies.")
    require(actor, Action.EDIT, engagement)


def _writable(engagement: Engagement) -> None:
    if engagement.is_closed:
        raise Conflict("The engagement is closed; its access register is final.")


def _check(data: dict, today) -> None:
    errors: dict[str, list[str]] = {}
    if not (data.get("system") or "").strip():
        errors["system"] = ["Name the system (e.g. 'GitHub org acme-ml')."]
    if data.get("kind") not in KINDS:
        errors["kind"] = [f"One of {', '.join(KINDS)}."]
    granted = data.get("granted_on")
    if granted is not None and granted > today:
        errors["granted_on"] = ["Access is recorded once granted: not a future day."]
    if errors:
        raise ValidationFailed("The access entry could not be saved.", errors=errors)


def _summary(entry: AccessEntry, member: TeamMember) -> dict:
    return {"access": entry.id, "member": member.name, "system": entry.system}


CSV_HEADER = (
    "member",
    "external",
    "system",
    "kind",
    "account",
    "granted_on",
    "granted_by",
    "revoked_at",
    "revoked_by",
    "revoke_note",
    "verified_at",
    "verified_by",
    "verified_how",
)


def access_csv(actor: User, engagement_id: int):
    """The access register as CSV for an auditor (what the actor may see of it)."""
    entries = list_for_engagement(actor, engagement_id)

    def stamp(value) -> str:
        return value.isoformat(timespec="seconds") if value is not None else ""

    rows = (
        (
            e.member.name,
            "yes" if e.member.is_external else "no",
            e.system,
            e.kind,
            e.account,
            e.granted_on.isoformat() if e.granted_on else "",
            e.granted_by.name if e.granted_by else "",
            stamp(e.revoked_at),
            e.revoked_by.name if e.revoked_by else "",
            e.revoke_note,
            stamp(e.verified_at),
            e.verified_by.name if e.verified_by else "",
            e.verify_how,
        )
        for e in entries
    )
    return stream_csv(CSV_HEADER, rows)
