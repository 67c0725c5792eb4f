"""Checklist items: add, edit, complete and reopen, each written to the audit trail.

Items a workflow definition binds to a fact (its [[checklist]] entries) are not ticked by
hand: `sync_bound_items` completes or reopens them from the data, and every service that
changes a fact calls it (docs/adr/0100).
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

from sqlalchemy import func, or_, select, true
from sqlalchemy.orm import selectinload

from tracker.auth.permissions import Action, can, get_visible_engagement, require
from tracker.core import clock
from tracker.errors import Conflict, NotFound, ValidationFailed
from tracker.extensions import db
from tracker.models import (
    CLIENT_ONLY_KEYS,
    ChecklistItem,
    ChecklistKind,
    ChecklistStatus,
    Engagement,
    Role,
    User,
)
from tracker.services.core import audit
from tracker.services.core.people import people_page, person_named
from tracker.services.core.transactions import (
    check_version,
    commit_and_derive,
    losing_race_is_conflict,
)
from tracker.services.handover.revocations import is_revocation_item, sync_revocation_items
from tracker.services.workflow.subjects import build_subject
from tracker.services.workflow.workflow_registry import definition_for
from workflows.due_dates import due_date_problem

ITEM_FIELDS = ("title", "owner_id", "due_date", "note", "evidence")
NOTE_MAX = 5000
EVIDENCE_MAX = 500


def _item_for(actor: User, item_id: int) -> tuple[ChecklistItem, Engagement]:
    """The item if its engagement is visible to the actor; NotFound otherwise."""
    item = db.session.get(ChecklistItem, item_id)
    if item is None:
        raise NotFound("Checklist item not found.")
    engagement = get_visible_engagement(
        db.session, actor, item.engagement_id, missing="Checklist item not found."
    )
    if item.is_client_only and not can(actor, Action.VIEW_COST, engagement):
        raise NotFound("Checklist item not found.")  # the client's own business
    return item, engagement


def audience_items(actor: User, engagement: Engagement):
    """WHERE clause: the items this actor may see (client-only items for who sees cost)."""
    if can(actor, Action.VIEW_COST, engagement):
        return true()
    return ChecklistItem.key.is_(None) | ChecklistItem.key.not_in(CLIENT_ONLY_KEYS)


def _writable(actor: User, engagement: Engagement) -> None:
    require(actor, Action.COMPLETE_CHECKLIST, engagement)
    if engagement.is_closed:
        raise Conflict("The engagement is closed; its checklists are final.")


def _check_fields(data: dict, engagement: Engagement | None = None) -> None:
    errors: dict[str, list[str]] = {}
    due = data.get("due_date")
    if engagement is not None and isinstance(due, date):
        if problem := due_date_problem(engagement, due):
            errors["due_date"] = [problem]
    if "title" in data and not (data["title"] or "").strip():
        errors["title"] = ["Give the item a title."]
    if len(data.get("note") or "") > NOTE_MAX:
        errors["note"] = [f"At most {NOTE_MAX} characters."]
    if problem := _evidence_problem(data.get("evidence") or ""):
        errors["evidence"] = [problem]
    owner_id = data.get("owner_id")
    if owner_id is not None:
        owner = db.session.get(User, owner_id)
        if owner is None or not owner.is_active:
            errors["owner_id"] = ["No such user."]
    if "kind" in data and data["kind"] not in {k.value for k in ChecklistKind}:
        errors["kind"] = ["Kind must be prerequisite, placement or knowledge_transfer."]
    if errors:
        raise ValidationFailed("The checklist item could not be saved.", errors=errors)


def _evidence_problem(link: str) -> str | None:
    if not link:
        return None
    if len(link) > EVIDENCE_MAX:
        return f"At most {EVIDENCE_MAX} characters."
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "Give a link starting with http:// or https://."
    return None


def _bindings(engagement: Engagement) -> dict:
    return definition_for(engagement.workflow_name, engagement.workflow_version).bindings


def sync_bound_items(engagement: Engagement, *, now=None) -> int:
    """Make every bound item done exactly while its fact holds; returns how many moved.

    Called explicitly, before the commit, by each service that changes a fact (the
    engagement's fields, the team, milestones, artifacts). Writes no commit itself.
    """

    sync_revocation_items(engagement, now or clock.now())  # a leaving member's access
    bindings = _bindings(engagement)
    items = db.session.scalars(
        select(ChecklistItem).where(ChecklistItem.engagement_id == engagement.id)
    ).all()
    if not any(item.key in bindings or item.fact for item in items):
        return 0
    now = now or clock.now()
    db.session.flush()
    subject = build_subject(engagement, now.date())
    return sum(_sync_item(engagement, i, bindings.get(i.key), subject, now) for i in items)


def _sync_item(engagement, item: ChecklistItem, fact, subject, now) -> int:
    item.fact = fact.name if fact is not None else None
    if fact is None:
        return 0
    holds = fact.holds(subject)
    if holds == (item.status == ChecklistStatus.DONE):
        if holds:
            item.completed_by_id = None  # done from the data has no manual completer
        return 0
    if holds:
        item.status, item.completed_by_id, item.completed_at = ChecklistStatus.DONE, None, now
        kind = "checklist_completed"
    else:
        item.status, item.completed_by_id, item.completed_at = ChecklistStatus.OPEN, None, None
        kind = "checklist_reopened"
    data = {"item_id": item.id, "title": item.title, "fact": fact.name, "from_data": True}
    reason = None if holds else fact.missing()
    audit.record(engagement, None, kind, reason=reason, data=data, label=audit.DATA_LABEL)
    return 1


def _refuse_by_hand(item: ChecklistItem, engagement: Engagement, status: str) -> None:
    """A bound item follows its fact: ticking (or reopening) it by hand is refused."""
    if is_revocation_item(item):
        message = f"'{item.title}' is done once every access of the member is revoked."
        raise ValidationFailed(message, errors={"status": [message]})
    fact = _bindings(engagement).get(item.key) if item.key else None
    if fact is None:
        return
    if status == ChecklistStatus.OPEN:
        message = f"'{item.title}' is done from the data; it reopens when that changes."
    else:
        message = f"'{item.title}' completes itself from the data: {fact.missing()}."
    raise ValidationFailed(message, errors={"status": [message]})


def list_items(actor: User, engagement_id: int, kind: str | None = None) -> list[ChecklistItem]:
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    query = (
        select(ChecklistItem)
        .where(ChecklistItem.engagement_id == engagement.id, audience_items(actor, engagement))
        .options(selectinload(ChecklistItem.owner), selectinload(ChecklistItem.completed_by))
        .order_by(ChecklistItem.kind, ChecklistItem.position, ChecklistItem.id)
    )
    if kind:
        query = query.where(ChecklistItem.kind == kind)
    return list(db.session.scalars(query))


def add_item(actor: User, engagement_id: int, data: dict) -> ChecklistItem:
    """Add an item by hand to one of the engagement's checklists."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    _writable(actor, engagement)
    _check_fields({**data, "kind": data.get("kind")}, engagement)
    item = ChecklistItem(
        engagement_id=engagement.id,
        kind=data["kind"],
        position=100,
        **{k: data[k] for k in ITEM_FIELDS if k in data},
    )
    db.session.add(item)
    db.session.flush()
    audit.record(
        engagement, actor, "checklist_added", data={"item_id": item.id, "title": item.title}
    )
    commit_and_derive()
    return item


def update_item(
    actor: User, item_id: int, data: dict, expected_version: int | None = None
) -> ChecklistItem:
    """Change an item's title, owner, due date, note or evidence link.

    A changed due date re-plans the item's reminders through services/derived.py when
    the session flushes; nothing here plans them."""
    item, engagement = _item_for(actor, item_id)
    _writable(actor, engagement)
    check_version(item, expected_version, "this checklist item")
    _check_fields(data, engagement)
    context: dict = {"item_id": item.id, "title": item.title}
    if "owner_id" in data and data["owner_id"] != item.owner_id:  # names for the trail
        new_owner = db.session.get(User, data["owner_id"]) if data["owner_id"] else None
        context["owner"] = [item.owner.name if item.owner else None, new_owner and new_owner.name]
    changed = audit.record_changes(
        engagement, actor, "checklist_updated", item, data, ITEM_FIELDS, **context
    )
    if changed:
        with losing_race_is_conflict():
            db.session.flush()
            commit_and_derive()
    return item


def remove_item(actor: User, item_id: int, expected_version: int | None = None) -> None:
    """Delete an item added to a checklist; one the workflow binds to a fact stays (it is
    how the definition's requirement shows on the page)."""
    item, engagement = _item_for(actor, item_id)
    _writable(actor, engagement)
    check_version(item, expected_version, "this checklist item")
    if item.is_bound:
        message = f"'{item.title}' follows the data ({item.fact}); it cannot be removed."
        raise ValidationFailed(message, errors={"item": [message]})
    audit.record(
        engagement,
        actor,
        "checklist_removed",
        data={"item_id": item.id, "title": item.title, "kind": item.kind, "status": item.status},
    )
    with losing_race_is_conflict():
        db.session.delete(item)
        db.session.flush()
        commit_and_derive()


def move_item(
    actor: User, item_id: int, direction: str, expected_version: int | None = None
) -> ChecklistItem:
    """Move an item one place up or down within its checklist (positions become 0..n-1)."""
    if direction not in ("up", "down"):
        raise ValidationFailed("Bad direction.", errors={"direction": ["Use up or down."]})
    item, engagement = _item_for(actor, item_id)
    _writable(actor, engagement)
    check_version(item, expected_version, "this checklist item")
    siblings = list(
        db.session.scalars(
            select(ChecklistItem)
            .where(ChecklistItem.engagement_id == engagement.id, ChecklistItem.kind == item.kind)
            .order_by(ChecklistItem.position, ChecklistItem.id)
        )
    )
    index = siblings.index(item)
    target = index - 1 if direction == "up" else index + 1
    if not 0 <= target < len(siblings):
        return item  # already first (or last): nothing to move, nothing recorded
    siblings[index], siblings[target] = siblings[target], siblings[index]
    for position, sibling in enumerate(siblings):
        if sibling.position != position:
            sibling.position = position
    audit.record(
        engagement,
        actor,
        "checklist_moved",
        data={
            "item_id": item.id,
            "title": item.title,
            "direction": direction,
            "position": [index + 1, target + 1],
        },
    )
    commit_and_derive()
    return item


def complete_item(
    actor: User, item_id: int, *, note: str = "", status: str = ChecklistStatus.DONE
) -> ChecklistItem:
    """Mark an item done (or not applicable), recording who and when."""
    if status not in (ChecklistStatus.DONE, ChecklistStatus.NOT_APPLICABLE):
        raise ValidationFailed("Bad status.", errors={"status": ["Use done or not_applicable."]})
    item, engagement = _item_for(actor, item_id)
    _writable(actor, engagement)
    _check_fields({"note": note})
    if item.is_complete and item.status == status:
        return item
    _refuse_by_hand(item, engagement, status)
    item.status, item.completed_by_id, item.completed_at = status, actor.id, clock.now()
    if note:
        item.note = note
    audit.record(
        engagement,
        actor,
        "checklist_completed",
        reason=note or None,
        data={"item_id": item.id, "title": item.title, "status": status},
    )
    commit_and_derive()
    return item


def reopen_item(actor: User, item_id: int, *, note: str = "") -> ChecklistItem:
    """Put a completed item back to open; the note says why."""
    item, engagement = _item_for(actor, item_id)
    _writable(actor, engagement)
    _check_fields({"note": note})
    if item.status == ChecklistStatus.OPEN:
        return item
    _refuse_by_hand(item, engagement, ChecklistStatus.OPEN)
    item.status, item.completed_by_id, item.completed_at = ChecklistStatus.OPEN, None, None
    if note:
        item.note = note
    audit.record(
        engagement,
        actor,
        "checklist_reopened",
        reason=note or None,
        data={"item_id": item.id, "title": item.title},
    )
    commit_and_derive()
    return item


def place_in_checklist(item: ChecklistItem) -> tuple[int, int]:
    """(1-based place, number of items) of `item` within its engagement's checklist of
    its kind, in the order the page shows; one query."""
    same_list = (ChecklistItem.engagement_id == item.engagement_id) & (
        ChecklistItem.kind == item.kind
    )
    before = (ChecklistItem.position < item.position) | (
        (ChecklistItem.position == item.position) & (ChecklistItem.id < item.id)
    )
    query = select(func.count(), func.count().filter(before)).where(same_list)
    total, ahead = db.session.execute(query).one()
    return ahead + 1, total


def _may_own(engagement: Engagement):
    """Active users who see the engagement because of their role or organisation (the
    client side and its provider's people); stakeholders who follow it are left out."""
    sees = or_(
        User.role.in_([Role.ADMIN, Role.MANAGER]),
        (User.role == Role.PROVIDER) & (User.provider_id == engagement.provider_id),
    )
    return User.is_active.is_(True) & sees


def owner_suggestions(engagement: Engagement, text: str, page: int) -> tuple[list[str], bool]:
    """A page of possible owners whose name or address contains the text, as "Name
    <email>" by name, and whether there are more: what the item form's owner picker
    offers, whatever the number of people (issue 29)."""
    return people_page(select(User.name, User.email).where(_may_own(engagement)), text, page)


def owner_from_text(engagement: Engagement, text: str, keep: int | None = None) -> int | None:
    """The owner the picker's text names: "Name <email>" or an address of someone who may
    own an item (or `keep`, the item's owner, set through the API outside them, so a save
    keeps them); an id as a script posts it (checked on saving like any owner). None
    when it names nobody who may be chosen."""
    allowed = _may_own(engagement) if keep is None else or_(_may_own(engagement), User.id == keep)
    return person_named(text, allowed, id_checked_later=True)
