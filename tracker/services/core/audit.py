"""Writing the audit trail (never commits: the caller's transaction owns the row)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, or_, select, true

from tracker.extensions import db
from tracker.models import CLIENT_ONLY_KEYS, AuditEvent, ChecklistItem, Engagement, User
from tracker.schemas.engagement import COST_FIELDS

SCHEDULER_LABEL = "scheduler"
DATA_LABEL = "from the data"  # a change no person made: a bound checklist item followed its fact
# Changes to fields only the client side may see are their own kind of entry, so the
# trail of anyone else leaves them out in SQL (paging stays exact) instead of showing
# that "monthly cost" changed with the value blanked.
COST_CHANGE_KIND = "cost_updated"
# An approved change request that moved the monthly cost (issue 31): one entry, as cost.
CHANGE_REQUEST_COST_KIND = "change_request_approved_cost"
# Kinds only who may see cost reads (the hiring evaluation is the client's own business).
CLIENT_ONLY_KINDS = (COST_CHANGE_KIND, CHANGE_REQUEST_COST_KIND, "hiring_evaluation_opened")


def audience_clause(can_view_cost: bool) -> ColumnElement[bool]:
    """WHERE clause for the entries this audience may read: without cost, no cost change,
    no hiring evaluation opened, nothing about a client-only checklist item."""
    if can_view_cost:
        return true()
    client_only = select(ChecklistItem.id).where(ChecklistItem.key.in_(CLIENT_ONLY_KEYS))
    item_id = AuditEvent.data["item_id"].as_integer()
    return and_(
        AuditEvent.kind.not_in(CLIENT_ONLY_KINDS),
        or_(item_id.is_(None), item_id.not_in(client_only)),
    )


def split_changes(changed: dict) -> tuple[dict, dict]:
    """(fields anyone who sees the engagement may see, cost fields) of a change set."""
    visible = {k: v for k, v in changed.items() if k not in COST_FIELDS}
    restricted = {k: v for k, v in changed.items() if k in COST_FIELDS}
    return visible, restricted


def record(
    engagement: Engagement | None,
    actor: User | None,
    kind: str,
    *,
    event: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    data: dict | None = None,
    label: str | None = None,
) -> AuditEvent:
    """Add an audit row to the current transaction; it commits or rolls back with it."""
    entry = AuditEvent(
        engagement_id=engagement.id if engagement is not None else None,
        actor_id=actor.id if actor is not None else None,
        actor_label=actor.name if actor is not None else (label or SCHEDULER_LABEL),
        kind=kind,
        event=event,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        data=data or {},
        workflow_version=engagement.workflow_version if engagement is not None else None,
    )
    db.session.add(entry)
    return entry


def _jsonable(value):
    """A value as the audit trail stores it: dates as ISO text, Decimals as text."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def apply_changes(target, data: Mapping, fields: Iterable[str]) -> dict[str, list]:
    """Set each of `fields` present in `data` that differs on `target`.

    Returns {field: [old, new]} in audit form; an empty dict when nothing changed.
    """
    changed: dict[str, list] = {}
    for field in fields:
        if field in data and getattr(target, field) != data[field]:
            changed[field] = [_jsonable(getattr(target, field)), _jsonable(data[field])]
            setattr(target, field, data[field])
    return changed


def record_changes(
    engagement: Engagement,
    actor: User | None,
    kind: str,
    target,
    data: Mapping,
    fields: Iterable[str],
    **context,
) -> dict[str, list]:
    """Apply the changed fields to `target` and, if any changed, write one audit row
    `kind` with `context` and the {field: [old, new]} diff. Returns the diff."""
    changed = apply_changes(target, data, fields)
    visible, restricted = split_changes(changed)
    if visible:
        record(engagement, actor, kind, data={**context, "changed": visible})
    if restricted:  # cost fields: an entry of their own, left out of other audiences' trails
        record(engagement, actor, COST_CHANGE_KIND, data={**context, "changed": restricted})
    return changed
