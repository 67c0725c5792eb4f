"""Checklist items: add, edit, complete and reopen, each written to the audit trail."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from tracker.auth.permissions import Action, get_visible_engagement, require
from tracker.db_setup import utcnow
from tracker.errors import Conflict, NotFound, ValidationFailed
from tracker.extensions import db
from tracker.models import ChecklistItem, ChecklistKind, ChecklistStatus, Engagement, Role, User
from tracker.services import audit
from tracker.services.engagements import commit_or_stale

ITEM_FIELDS = ("title", "owner_id", "due_date", "note")
NOTE_MAX = 5000


def _item_for(actor: User, item_id: int) -> tuple[ChecklistItem, Engagement]:
    """The item if its engagement is visible to the actor; NotFound otherwise."""
    item = db.session.get(ChecklistItem, item_id)
    if item is None:
        raise NotFound("Checklist item not found.")
    engagement = get_visible_engagement(
        db.session, actor, item.engagement_id, missing="Checklist item not found."
    )
    return item, engagement


def _writable(actor: User, engagement: Engagement) -> None:
    require(actor, Action.COMPLETE_CHECKLIST, engagement)
    if engagement.is_closed:
        raise Conflict("The engagement is closed; its checklists are final.")


def _check_fields(data: dict) -> None:
    errors: dict[str, list[str]] = {}
    if "title" in data and not (data["title"] or "").strip():
        errors["title"] = ["Give the item a title."]
    if len(data.get("note") or "") > NOTE_MAX:
        errors["note"] = [f"At most {NOTE_MAX} characters."]
    owner_id = data.get("owner_id")
    if owner_id is not None:
        owner = db.session.get(User, owner_id)
        if owner is None or not owner.is_active:
            errors["owner_id"] = ["No such user."]
    if "kind" in data and data["kind"] not in {k.value for k in ChecklistKind}:
        errors["kind"] = ["Kind must be prerequisite, placement or knowledge_transfer."]
    if errors:
        raise ValidationFailed("The checklist item could not be saved.", errors=errors)


def _after_change(engagement: Engagement) -> None:
    from tracker.services import health

    health.refresh_health([engagement.id])
    for hook in AFTER_CHECKLIST_CHANGE_HOOKS:
        hook(engagement)


# Features that plan work from checklist items (reminders) register `hook(engagement)`.
AFTER_CHECKLIST_CHANGE_HOOKS: list = []


def list_items(actor: User, engagement_id: int, kind: str | None = None) -> list[ChecklistItem]:
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    query = (
        select(ChecklistItem)
        .where(ChecklistItem.engagement_id == engagement.id)
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
    _check_fields({**data, "kind": data.get("kind")})
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
    _after_change(engagement)
    commit_or_stale()
    return item


def update_item(actor: User, item_id: int, data: dict) -> ChecklistItem:
    """Change an item's title, owner, due date or note."""
    item, engagement = _item_for(actor, item_id)
    _writable(actor, engagement)
    _check_fields(data)
    changed = {}
    for field in ITEM_FIELDS:
        if field in data and getattr(item, field) != data[field]:
            old = getattr(item, field)
            changed[field] = [_plain(old), _plain(data[field])]
            setattr(item, field, data[field])
    if changed:
        audit.record(
            engagement,
            actor,
            "checklist_updated",
            data={"item_id": item.id, "title": item.title, "changed": changed},
        )
        _after_change(engagement)
        commit_or_stale()
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
    item.status, item.completed_by_id, item.completed_at = status, actor.id, utcnow()
    if note:
        item.note = note
    audit.record(
        engagement,
        actor,
        "checklist_completed",
        reason=note or None,
        data={"item_id": item.id, "title": item.title, "status": status},
    )
    _after_change(engagement)
    commit_or_stale()
    return item


def reopen_item(actor: User, item_id: int, *, note: str = "") -> ChecklistItem:
    """Put a completed item back to open; the note says why."""
    item, engagement = _item_for(actor, item_id)
    _writable(actor, engagement)
    _check_fields({"note": note})
    if item.status == ChecklistStatus.OPEN:
        return item
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
    _after_change(engagement)
    commit_or_stale()
    return item


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


def assignable_owners() -> list[User]:
    """Users who can own checklist items: everyone active except provider staff."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.is_active.is_(True), User.role != Role.PROVIDER)
            .order_by(User.name)
        )
    )
