"""Creating, reading and editing engagements and their teams."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date

from sqlalchemy.orm.exc import StaleDataError

from tracker.auth.permissions import Action, get_visible_engagement, require
from tracker.core import clock
from tracker.errors import ConcurrentUpdate, StaleVersion, ValidationFailed
from tracker.extensions import db
from tracker.models import (
    ChecklistItem,
    Engagement,
    ProviderOrganisation,
    Role,
    User,
)
from tracker.services import audit
from tracker.services.checklist_templates import TEMPLATES

# Fields a manager may set on create/update; provider-side fields live on milestones.
EDITABLE_FIELDS = (
    "title",
    "provider_id",
    "structure",
    "owner_id",
    "technical_contact_id",
    "problem_statement",
    "success_criteria",
    "internal_notes",
    "discovery_start",
    "monthly_cost",
    "currency",
)
# Dates an edit may move once the workflow has set them (a shortened trial, a period
# that slips): their timers and reminders follow in the same transaction (derived.py).
DATE_FIELDS = ("trial_start", "trial_end", "period_start", "period_end")
DATE_PAIRS = (("trial_start", "trial_end"), ("period_start", "period_end"))


def _check_references(data: dict) -> dict[str, list[str]]:
    """Foreign keys a schema cannot check: they must name real rows of the right kind."""
    errors: dict[str, list[str]] = {}
    if "provider_id" in data and db.session.get(ProviderOrganisation, data["provider_id"]) is None:
        errors["provider_id"] = ["No such provider organisation."]
    if "owner_id" in data:
        owner = db.session.get(User, data["owner_id"])
        if owner is None or owner.role not in (Role.MANAGER, Role.ADMIN):
            errors["owner_id"] = ["The owner must be a manager or an admin."]
    contact_id = data.get("technical_contact_id")
    if contact_id is not None:
        contact = db.session.get(User, contact_id)
        if contact is None or contact.role == Role.PROVIDER:
            errors["technical_contact_id"] = ["The technical contact must be an internal user."]
    return errors


def create_engagement(actor: User, data: dict, *, today: date | None = None) -> Engagement:
    """Create an engagement in its workflow's initial state with the standard checklists."""
    from tracker.services import checklists  # imports this module: a local import
    from tracker.services.workflow_registry import DefinitionBroken, latest_definition

    require(actor, Action.EDIT)
    workflow_name = data.get("workflow_name")
    data = {k: v for k, v in data.items() if k in EDITABLE_FIELDS}
    data.setdefault("owner_id", actor.id)
    errors = _check_references(data)
    if errors:
        raise ValidationFailed("The engagement could not be created.", errors=errors)
    try:
        definition = latest_definition(workflow_name)
    except DefinitionBroken as exc:  # a choice the caller can change: name the field
        raise ValidationFailed(exc.message, errors={"workflow_name": [exc.message]}) from exc
    engagement = Engagement(
        **data,
        state=definition.initial_state,
        workflow_name=definition.name,
        workflow_version=definition.version,
        workflow_hash=definition.content_hash,
    )
    engagement.discovery_start = engagement.discovery_start or today or clock.now().date()
    db.session.add(engagement)
    db.session.flush()
    add_standard_checklists(engagement, owner_id=engagement.owner_id)
    audit.record(engagement, actor, "created", to_state=engagement.state)
    checklists.sync_bound_items(engagement)
    db.session.commit()
    return engagement


def add_standard_checklists(engagement: Engagement, *, owner_id: int | None) -> None:
    """Add the template checklist items (no commit)."""
    for kind, items in TEMPLATES.items():
        for position, (key, title) in enumerate(items):
            db.session.add(
                ChecklistItem(
                    engagement_id=engagement.id,
                    kind=kind,
                    key=key,
                    title=title,
                    owner_id=owner_id,
                    position=position,
                )
            )


def update_engagement(
    actor: User, engagement_id: int, data: dict, *, expected_version: int | None = None
) -> Engagement:
    """Change engagement fields; a stale expected_version is refused, never merged."""
    from tracker.services import checklists  # imports this module: a local import

    engagement = get_visible_engagement(db.session, actor, engagement_id)
    require(actor, Action.EDIT, engagement)
    check_version(engagement, expected_version)
    fields = EDITABLE_FIELDS + DATE_FIELDS
    data = {k: v for k, v in data.items() if k in fields}
    errors = _check_references(data) | _date_errors(engagement, data)
    if errors:
        raise ValidationFailed("The engagement could not be saved.", errors=errors)
    _refuse_contracted(engagement, data)
    if audit.record_changes(engagement, actor, "updated", engagement, data, fields):
        checklists.sync_bound_items(engagement)
        commit_or_stale()
    return engagement


def _refuse_contracted(engagement: Engagement, data: dict) -> None:
    """The monthly cost and the running period's end move only by change request where the
    definition says so (issue 31); an unchanged value passes."""
    from tracker.services.change_requests import rules

    end = rules.period_end_field(engagement)
    kinds = {"monthly_cost": "monthly_cost", **({end: "period_end"} if end else {})}
    changed = {
        field: kind
        for field, kind in kinds.items()
        if field in data and data[field] != getattr(engagement, field)
    }
    rules.refuse_direct(engagement, changed)


def _date_errors(engagement: Engagement, data: dict) -> dict[str, list[str]]:
    """Dates keep their order after the edit: discovery before the trial, each start
    before its end. A period date the workflow has not set yet cannot be edited."""
    errors: dict[str, list[str]] = {}
    after = {key: data.get(key, getattr(engagement, key)) for key in ("discovery_start",)}
    after |= {key: data.get(key, getattr(engagement, key)) for key in DATE_FIELDS}
    for key in DATE_FIELDS:
        if key in data and (data[key] is None or getattr(engagement, key) is None):
            errors[key] = ["This date is set when the period starts; it can be moved, not set."]
    start, trial_start = after["discovery_start"], after["trial_start"]
    if start is not None and trial_start is not None and start > trial_start:
        errors["discovery_start"] = [f"Discovery cannot start after the trial ({trial_start})."]
    for first, last in DATE_PAIRS:
        if after[first] and after[last] and after[first] > after[last] and last not in errors:
            errors[last] = [f"The end cannot come before the start ({after[first]})."]
    return errors


def check_version(engagement: Engagement, expected_version: int | None) -> None:
    """Refuse to act on an engagement someone changed since the client read it."""
    if expected_version is not None and engagement.version != expected_version:
        raise StaleVersion(
            "Someone changed this engagement since you loaded it; reload and try again.",
            errors={"version": [f"expected {expected_version}, current {engagement.version}"]},
        )


def commit_or_stale() -> None:
    """Commit; a lost optimistic-concurrency race becomes a ConcurrentUpdate (409)."""
    with losing_race_is_conflict():
        db.session.commit()


@contextmanager
def losing_race_is_conflict():
    """Turn SQLAlchemy's version-check failure (at flush or commit) into a clean 409."""
    try:
        yield
    except StaleDataError as exc:
        db.session.rollback()
        raise ConcurrentUpdate(
            "Someone else changed this at the same time; nothing was saved. Reload and retry."
        ) from exc
