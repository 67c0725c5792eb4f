"""Which changes become webhook events, and their `data` (never cost figures or notes).

Transitions are queued by the one explicit call `queue_transition_events` in
services.workflow.transitions. Everything else (created engagements, health changes, milestone
status and verdicts, checklist completion, ADR status, shadow sign-off) is noticed by
an `after_flush` hook (tracker/services/derived.py), so that the services
owning those changes need no edits; the rows it writes join the same transaction.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import attributes, joinedload

from tracker.extensions import db
from tracker.models import (
    FINAL_MILESTONE_STATUSES,
    AccessEntry,
    Adr,
    ChecklistItem,
    Engagement,
    Milestone,
    ShadowAssignment,
    User,
)
from tracker.services.messaging.webhooks import queue_event

# The people an access entry's event names, loaded with it.
ACCESS_PEOPLE = (
    joinedload(AccessEntry.member),
    joinedload(AccessEntry.revoked_by),
    joinedload(AccessEntry.verified_by),
)


def access_summary(engagement_id: int) -> list[dict]:
    """What the engagement.closed webhook carries, for an identity system to cross-check."""
    query = (
        select(AccessEntry)
        .where(AccessEntry.engagement_id == engagement_id)
        .options(*ACCESS_PEOPLE)
        .order_by(AccessEntry.member_id, AccessEntry.id)
    )
    return [access_entry_data(entry, entry.revoked_by) for entry in db.session.scalars(query)]


def access_entry_data(entry: AccessEntry, revoker: User | None) -> dict:
    """One access entry as an event carries it (access.* events and engagement.closed)."""
    return {
        "id": entry.id,
        "member": entry.member.name,
        "system": entry.system,
        "kind": entry.kind,
        "account": entry.account,
        "revoked_at": entry.revoked_at.isoformat() if entry.revoked_at else None,
        "revoked_by": revoker.name if revoker and entry.revoked_at else None,
        "verified_at": entry.verified_at.isoformat() if entry.verified_at else None,
        "verified_by": entry.verified_by.name if entry.verified_by else None,
    }


def engagement_ref(engagement: Engagement) -> dict:
    """What every engagement event says about it: no cost, no internal notes."""
    return {
        "id": engagement.id,
        "title": engagement.title,
        "state": engagement.state,
        "health": engagement.effective_health,
        "provider_id": engagement.provider_id,
        "owner_id": engagement.owner_id,
    }


def _actor(user: User | None) -> dict:
    if user is None:
        return {"id": None, "name": "scheduler", "role": "system"}
    return {"id": user.id, "name": user.name, "role": user.role}


def queue_transition_events(engagement: Engagement, user: User | None, plan, from_state: str):
    """engagement.transitioned (and engagement.closed on a final state), in this transaction."""
    data = {
        "engagement": engagement_ref(engagement),
        "from": from_state,
        "to": plan.to_state,
        "event": plan.event,
        "actor": _actor(user),
        "reason": plan.cleaned_inputs.get("reason") or plan.override_reason,
    }
    session = db.session()
    queue_event(session, "engagement.transitioned", data, engagement_id=engagement.id)
    if plan.is_final:
        closed = {"engagement": engagement_ref(engagement), "outcome": engagement.outcome}
        # The access register, so an identity system can cross-check what was revoked.
        closed["access"] = access_summary(engagement.id)
        queue_event(session, "engagement.closed", closed, engagement_id=engagement.id)


def queue_change_request_event(request, user: User, kind: str) -> None:
    """change_request.proposed | approved | rejected, in the caller's transaction: the
    fields it changes, why and the schedule delta; never its cost figures (issue 31)."""
    data = {
        "engagement": engagement_ref(request.engagement),
        "change_request": {
            "id": request.id,
            "state": request.state,
            "why": request.why,
            "schedule_delta_days": request.schedule_delta_days,
            "changes": [
                {k: c.get(k) for k in ("target", "id", "field", "subject")} for c in request.changes
            ],
            "reason": request.decision_reason,
        },
        "actor": _actor(user),
    }
    queue_event(db.session(), kind, data, engagement_id=request.engagement_id)


def _change(obj, name: str):
    """(old, new) when this flush changed the attribute, else None.

    `old` is None when it was never loaded (set on an expired object); services read
    before they write, so in practice it is known.
    """
    history = attributes.get_history(obj, name)
    if not history.has_changes():
        return None
    old = history.deleted[0] if history.deleted else None
    new = history.added[0] if history.added else None
    return (old, new) if old != new else None


def _engagement_events(obj: Engagement, is_new: bool) -> list:
    if is_new:
        return [("engagement.created", {"engagement": engagement_ref(obj)})]
    health = _change(obj, "effective_health")
    if health and health[0] is not None:
        data = {
            "engagement": engagement_ref(obj),
            "old": health[0],
            "new": health[1],
            "reasons": [r.get("message") for r in (obj.health_reasons or [])],
        }
        return [("engagement.health_changed", data)]
    return []


def _milestone_events(obj: Milestone) -> list:
    status = _change(obj, "status")
    if not status:
        return []
    data = {
        "milestone": {"id": obj.id, "title": obj.title, "due_date": obj.due_date.isoformat()},
        "engagement_id": obj.engagement_id,
        "old": status[0],
        "new": status[1],
    }
    found = [("milestone.status_changed", data)]
    if status[1] in FINAL_MILESTONE_STATUSES:
        found.append(("milestone.verdict_given", data | {"verdict": status[1]}))
    return found


def _checklist_events(obj: ChecklistItem) -> list:
    status = _change(obj, "status")
    if not status or (status[0] is not None and (status[0] != "open") == obj.is_complete):
        return []
    data = {
        "item": {"id": obj.id, "kind": obj.kind, "title": obj.title, "status": obj.status},
        "engagement_id": obj.engagement_id,
        "by_user_id": obj.completed_by_id,
    }
    kind = "checklist_item.completed" if obj.is_complete else "checklist_item.reopened"
    return [(kind, data)]


def _adr_events(obj: Adr) -> list:
    status = _change(obj, "status")
    if not status:
        return []
    data = {"adr": {"id": obj.id, "number": obj.number, "title": obj.title}}
    return [("adr.status_changed", data | {"engagement_id": obj.engagement_id,
                                           "old": status[0], "new": status[1]})]  # fmt: skip


def _shadow_events(obj: ShadowAssignment) -> list:
    signed = _change(obj, "signed_off_at")
    if not signed or signed[0] is not None or signed[1] is None:
        return []
    data = {
        "assignment": {"id": obj.id, "member_id": obj.member_id, "shadow_id": obj.shadow_id},
        "engagement_id": obj.engagement_id,
        "signed_off_by_id": obj.signed_off_by_id,
    }
    return [("shadow.signed_off", data)]


_DIRTY_HANDLERS = {
    Milestone: _milestone_events,
    ChecklistItem: _checklist_events,
    Adr: _adr_events,
    ShadowAssignment: _shadow_events,
}


def events_in_flush(session) -> list[tuple[str, dict, int | None]]:
    """(type, data, engagement id) for every change in this flush that is a webhook event."""
    found = []
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Engagement):
            pairs = _engagement_events(obj, obj in session.new)
            found += [(kind, data, obj.id) for kind, data in pairs]
            continue
        handler = _DIRTY_HANDLERS.get(type(obj))
        if handler is not None and obj not in session.new:
            found += [(kind, data, obj.engagement_id) for kind, data in handler(obj)]
    return found


def queue_after_flush(session, flush_context) -> None:
    """Queue the flush's events; costs no query when nothing in it is an event."""
    for kind, data, engagement_id in events_in_flush(session):
        queue_event(session, kind, data, engagement_id=engagement_id)
