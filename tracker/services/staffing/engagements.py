"""Creating, reading and editing engagements and their teams."""

from __future__ import annotations

from datetime import date

from tracker.auth.permissions import Action, get_visible_engagement, require
from tracker.core import clock
from tracker.errors import ValidationFailed
from tracker.extensions import db
from tracker.models import (
    ChecklistItem,
    Engagement,
    ProviderOrganisation,
    Role,
    User,
)
from tracker.services.change_requests import rules
from tracker.services.core import audit
from tracker.services.core.transactions import check_version, commit_and_derive
from tracker.services.delivery import checklists
from tracker.services.staffing.checklist_templates import TEMPLATES
from tracker.services.workflow.workflow_registry import DefinitionBroken, latest_definition

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
    commit_and_derive()
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
        commit_and_derive()
    return engagement


def _refuse_contracted(engagement: Engagement, data: dict) -> None:
    """The monthly cost and the running period's end move only by change request where the
    definition says so (issue 31); an unchanged value passes."""
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
