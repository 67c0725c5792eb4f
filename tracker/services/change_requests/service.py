"""Raising, reading and deciding change requests (issue 31).

Approving applies every change in one transaction with one audit entry naming the
request, and only while every change's `from` still holds; the state moves out of
`proposed` by a conditional UPDATE, so of two people approving at once exactly one wins
(the other waits on the row and then finds it decided: 409).
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload

from tracker.auth.permissions import Action, can, get_visible_engagement
from tracker.core import clock
from tracker.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tracker.extensions import db
from tracker.models import ChangeRequest, Engagement, Milestone, Role, User
from tracker.models.change_request import APPROVED, PROPOSED, REJECTED, WITHDRAWN
from tracker.services.change_requests import fields as catalog
from tracker.services.change_requests.rules import KIND_WORDS, period_end_field
from tracker.services.core import audit
from tracker.services.core.transactions import commit_and_derive, losing_race_is_conflict
from tracker.services.delivery import checklists
from tracker.services.messaging.webhook_events import queue_change_request_event
from tracker.services.workflow import lifecycle
from workflows.due_dates import due_date_problem

CHANGES_MAX = 20
TEXT_MAX = 5000
DELTA_DAYS_MAX = 3650
APPROVED_KIND = "change_request_approved"
# An approval that moved the monthly cost: the trail of those who may not see cost leaves
# it out (services/core/audit.py's audience_clause), like any other cost change.
APPROVED_COST_KIND = audit.CHANGE_REQUEST_COST_KIND
STALE = "change_request_stale"


class StaleRequest(Conflict):
    """A field the request changes moved since it was raised: nothing was applied."""

    code = STALE


# --- reading ------------------------------------------------------------------------


def get_request(actor: User, request_id: int) -> ChangeRequest:
    """A request on an engagement the actor may see (else 404, like a missing one)."""
    found = db.session.get(ChangeRequest, request_id)
    if found is None:
        raise NotFound("Change request not found.")
    get_visible_engagement(
        db.session, actor, found.engagement_id, missing="Change request not found."
    )
    return found


def list_requests(actor: User, engagement_id: int) -> list[ChangeRequest]:
    """The engagement's requests, newest first, with who raised and decided them."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    return list(db.session.scalars(_OF_ENGAGEMENT, {"engagement_id": engagement.id}))


# Built once, the engagement a bound parameter: it keeps its cache key (issue 29, ADR 0258).
_OF_ENGAGEMENT = (
    select(ChangeRequest)
    .where(ChangeRequest.engagement_id == bindparam("engagement_id"))
    .options(joinedload(ChangeRequest.raised_by), joinedload(ChangeRequest.decided_by))
    .order_by(ChangeRequest.created_at.desc(), ChangeRequest.id.desc())
)


def may_raise(actor: User, engagement: Engagement) -> bool:
    """Managers and admins, and the engagement's own provider (who can see it)."""
    return actor.is_client_side or (
        actor.role == Role.PROVIDER and can(actor, Action.VIEW, engagement)
    )


def may_decide(actor: User, request: ChangeRequest) -> bool:
    """The engagement's owner or an admin, never whoever raised it."""
    if actor.id == request.raised_by_id:
        return False
    return actor.is_admin or (actor.is_client_side and request.engagement.owner_id == actor.id)


def needs_admin(request: ChangeRequest) -> bool:
    """A total cost increase above CHANGE_REQUEST_ADMIN_ABOVE needs an admin's approval."""
    limit = Decimal(current_app.config["CHANGE_REQUEST_ADMIN_ABOVE"])
    return Decimal(request.cost_delta_total or 0) > limit


# --- raising ------------------------------------------------------------------------


def raise_request(actor: User, engagement_id: int, data: dict) -> ChangeRequest:
    """Propose changes to contracted fields; `from` of each is captured now."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    if not may_raise(actor, engagement):
        raise Forbidden("Managers, admins and the engagement's provider raise change requests.")
    if engagement.is_closed:
        raise Conflict("The engagement is closed; nothing in it changes any more.")
    errors: dict[str, list[str]] = {}
    changes = _checked_changes(actor, engagement, data.get("changes"), errors)
    why = (data.get("why") or "").strip()
    if not why:
        errors["why"] = ["Say why the change is needed."]
    elif len(why) > TEXT_MAX:
        errors["why"] = [f"At most {TEXT_MAX} characters."]
    value = (data.get("value") or "").strip()
    if len(value) > TEXT_MAX:
        errors["value"] = [f"At most {TEXT_MAX} characters."]
    monthly = _amount(data.get("cost_delta_monthly", 0), "cost_delta_monthly", errors)
    total = _amount(data.get("cost_delta_total"), "cost_delta_total", errors)
    days = _days(data.get("schedule_delta_days"), errors)
    evidence = _evidence(data.get("evidence_url"), errors)
    if errors:
        raise ValidationFailed("The change request could not be raised.", errors=errors)
    request = ChangeRequest(
        engagement_id=engagement.id,
        raised_by_id=actor.id,
        state=PROPOSED,
        raised_in_state=engagement.state,
        period=engagement.current_period,
        changes=changes,
        why=why,
        value=value,
        cost_delta_monthly=monthly,
        cost_delta_total=total if total is not None else _total_for(engagement, monthly),
        schedule_delta_days=days if days is not None else _slip_of(changes),
        evidence_url=evidence,
    )
    db.session.add(request)
    db.session.flush()
    audit.record(
        engagement,
        actor,
        "change_request_proposed",
        reason=why,
        data={"change_request_id": request.id, "fields": [_label(c) for c in changes]},
    )
    queue_change_request_event(request, actor, "change_request.proposed")
    commit_and_derive()
    return request


def _label(change: dict) -> str:
    return f"{change['target']}.{change['field']}" + (
        f" #{change['id']}" if change.get("id") else ""
    )


def _checked_changes(actor, engagement, raw, errors) -> list[dict]:
    if not isinstance(raw, list) or not raw:
        errors["changes"] = ["List at least one change."]
        return []
    if len(raw) > CHANGES_MAX:
        errors["changes"] = [f"At most {CHANGES_MAX} changes in one request."]
        return []
    state = lifecycle.state_of(engagement)
    changes, seen = [], set()
    for i, entry in enumerate(raw):
        change = _checked_change(actor, engagement, state, entry, f"changes.{i}", errors)
        if change is None:
            continue
        key = (change["target"], change.get("id"), change["field"])
        if key in seen and change["field"] != "add":
            errors[f"changes.{i}"] = ["The same field is changed twice in this request."]
        seen.add(key)
        changes.append(change)
    return changes


def _checked_change(actor, engagement, state, entry, where, errors) -> dict | None:
    if not isinstance(entry, dict):
        errors[where] = ["Each change is {target, id, field, to}."]
        return None
    target, field = entry.get("target"), entry.get("field")
    spec = _spec(target, field, where, errors)
    if spec is None:
        return None
    if not state.needs_change_request(spec.kind):
        errors[f"{where}.field"] = [
            f"{KIND_WORDS[spec.kind].capitalize()} needs no change request in {state.label}: "
            "edit it directly."
        ]
        return None
    if spec.field == "monthly_cost" and not actor.is_client_side:
        errors[f"{where}.field"] = [
            "The monthly cost is the client's figure: state the cost delta."
        ]
        return None
    row = _row(spec, engagement, entry.get("id"), where, errors)
    if row is False:
        return None
    before = catalog.current(spec, engagement, row)
    try:
        to = catalog.parse_to(spec, entry.get("to"))
        problem = _date_problem(spec, engagement, to)
        if problem is None and before == to:
            problem = "That is the current value: nothing would change."
        if problem:
            raise catalog.BadValue(problem)
    except catalog.BadValue as exc:
        errors[f"{where}.to"] = [str(exc)]
        return None
    change = {"target": target, "field": field, "from": before}
    if row is not None:
        change["id"] = row.id
    return change | {"to": to, "subject": _subject(spec, row, to)}


def _spec(target, field, where, errors) -> catalog.FieldSpec | None:
    if target not in catalog.TARGETS:
        errors[f"{where}.target"] = [f"Choose one of {', '.join(catalog.TARGETS)}."]
        return None
    spec = catalog.SPECS.get((target, field))
    if spec is None:
        known = ", ".join(catalog.fields_of(target))
        errors[f"{where}.field"] = [f"A {target} change request covers {known}; not {field!r}."]
    return spec


def _row(spec, engagement, raw_id, where, errors):
    """The row a change names (None for the engagement or a new milestone; False if bad)."""
    if spec.model is None:
        if raw_id is not None:
            errors[f"{where}.id"] = [f"A {spec.target} change takes no id."]
            return False
        return None
    if isinstance(raw_id, bool) or not isinstance(raw_id, int) or not 1 <= raw_id < 2**31:
        errors[f"{where}.id"] = [f"Give the id of the {spec.target.replace('_', ' ')}."]
        return False
    row = db.session.get(spec.model, raw_id)
    if row is None or not catalog.belongs_to(row, engagement):
        errors[f"{where}.id"] = [f"Not a {spec.target.replace('_', ' ')} of this engagement."]
        return False
    return row


def _date_problem(spec, engagement, to) -> str | None:
    if spec.field == "due_date":
        return due_date_problem(engagement, date.fromisoformat(to))
    if spec.field == "add":
        return due_date_problem(engagement, date.fromisoformat(to["due_date"]))
    if spec.field == "period_end":
        end_field = period_end_field(engagement)
        start = getattr(engagement, lifecycle.state_of(engagement).period[0], None)
        if end_field is None:
            return "The engagement is not in a dated period."
        if start is not None and date.fromisoformat(to) < start:
            return f"The period cannot end before it starts ({start.isoformat()})."
    return None


def _subject(spec, row, to) -> str:
    """What the change is about, in words, fixed when it was raised."""
    if spec.field == "add":
        return f"New milestone '{to['title']}'"
    if isinstance(row, Milestone):
        return f"Milestone '{row.title}'"
    if spec.target == "milestone_target":
        return f"Target for {row.metric.name} at '{row.milestone.title}'"
    if spec.target == "team_member":
        return f"{row.name}"
    return "The engagement"


def _amount(raw, name, errors) -> Decimal | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        errors[name] = ["Give a number."]
        return None
    try:
        value = Decimal(str(raw)).quantize(Decimal("0.01"))
    except InvalidOperation:
        errors[name] = ["Give a number."]
        return None
    if not value.is_finite() or abs(value) > catalog.MONEY_MAX:
        errors[name] = [f"Give an amount between -{catalog.MONEY_MAX} and {catalog.MONEY_MAX}."]
        return None
    return value


def _days(raw, errors) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or abs(raw) > DELTA_DAYS_MAX:
        errors["schedule_delta_days"] = [
            f"Give whole days from -{DELTA_DAYS_MAX} to {DELTA_DAYS_MAX}."
        ]
        return None
    return raw


def _evidence(raw, errors) -> str | None:
    if raw in (None, ""):
        return None
    parts = urlsplit(raw) if isinstance(raw, str) else None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.netloc
        or len(raw) > 1000
    ):
        errors["evidence_url"] = ["Give an http(s) link of at most 1000 characters."]
        return None
    return raw


def _total_for(engagement: Engagement, monthly: Decimal | None) -> Decimal:
    """Without a stated total: the monthly delta over the months left in the period."""
    if not monthly:
        return Decimal("0.00")
    state = lifecycle.state_of(engagement)
    end = getattr(engagement, state.period[1], None) if state.is_period else None
    days = (end - clock.now().date()).days if end else 30
    return (monthly * max(1, math.ceil(days / 30))).quantize(Decimal("0.01"))


def _slip_of(changes: list[dict]) -> int:
    """Without a stated schedule delta: the largest move later of a due date or period end."""
    slips = [
        (date.fromisoformat(c["to"]) - date.fromisoformat(c["from"])).days
        for c in changes
        if c["field"] in ("due_date", "period_end") and c["from"] and c["to"]
    ]
    return max([0, *slips])


# --- deciding -----------------------------------------------------------------------


def _decidable(actor: User, request_id: int) -> ChangeRequest:
    request = get_request(actor, request_id)
    if request.state != PROPOSED:
        raise Conflict(
            f"This change request is already {request.state}.",
            errors={"state": [f"Already {request.state}; only a proposed request is decided."]},
        )
    if actor.id == request.raised_by_id:
        raise Forbidden(
            "You raised this change request; the engagement's owner or an admin decides it.",
            errors={"raised_by": ["The person who raised a request does not decide it."]},
        )
    if not may_decide(actor, request):
        raise Forbidden(
            "The engagement's owner or an admin decides change requests.",
            errors={"decided_by": ["Only the engagement's owner or an admin."]},
        )
    return request


def _claim(request: ChangeRequest, actor: User, state: str, reason: str | None) -> None:
    """Move proposed → state, exactly once: the loser of a race updates no row."""
    now = clock.now()
    result = db.session.execute(
        update(ChangeRequest)
        .where(ChangeRequest.id == request.id, ChangeRequest.state == PROPOSED)
        .values(state=state, decided_by_id=actor.id, decided_at=now, decision_reason=reason)
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise Conflict(
            "Someone decided this change request at the same time; nothing was applied.",
            errors={"state": ["Already decided."]},
        )
    db.session.expire_all()  # read what the winner of any race committed


def approve(actor: User, request_id: int) -> ChangeRequest:
    """Apply every change in one transaction, with one audit entry naming the request."""
    request = _decidable(actor, request_id)
    if needs_admin(request) and not actor.is_admin:
        limit = current_app.config["CHANGE_REQUEST_ADMIN_ABOVE"]
        raise Forbidden(
            f"This request adds more than {limit} to the total cost: an admin approves it.",
            errors={"cost_delta_total": [f"Above {limit}: an admin's approval is needed."]},
        )
    _claim(request, actor, APPROVED, None)
    engagement = request.engagement
    stale = _stale_fields(request, engagement)
    if stale:
        db.session.rollback()
        raise StaleRequest(
            "Fields this request changes moved since it was raised; nothing was applied. "
            "Withdraw it and raise a new one.",
            errors=stale,
        )
    for change in request.changes:
        _apply(change, engagement)
    cost = any(c["field"] == "monthly_cost" for c in request.changes)
    audit.record(
        engagement,
        actor,
        APPROVED_COST_KIND if cost else APPROVED_KIND,
        reason=request.why,
        data={
            "change_request_id": request.id,
            "changes": [
                {k: c.get(k) for k in ("target", "id", "field", "from", "to", "subject")}
                for c in request.changes
            ],
            "schedule_delta_days": request.schedule_delta_days,
        },
    )
    with losing_race_is_conflict():
        db.session.flush()
        checklists.sync_bound_items(engagement)
        queue_change_request_event(request, actor, "change_request.approved")
        commit_and_derive()
    return request


def _stale_fields(request: ChangeRequest, engagement: Engagement) -> dict[str, list[str]]:
    stale = {}
    for i, change in enumerate(request.changes):
        spec = catalog.SPECS[(change["target"], change["field"])]
        row = None
        if spec.model is not None:
            row = db.session.get(spec.model, change["id"])
            if row is None or not catalog.belongs_to(row, engagement):
                stale[f"changes.{i}.id"] = [f"{change['subject']} no longer exists."]
                continue
        now = catalog.current(spec, engagement, row)
        if now != change["from"]:
            stale[f"changes.{i}.from"] = [
                f"{change['subject']}: {change['field']} is now {now!r}, "
                f"was {change['from']!r} when the request was raised."
            ]
    return stale


def _apply(change: dict, engagement: Engagement) -> None:
    spec = catalog.SPECS[(change["target"], change["field"])]
    if spec.field == "add":
        new = change["to"]
        db.session.add(
            Milestone(
                engagement_id=engagement.id,
                period=engagement.current_period,
                title=new["title"],
                due_date=date.fromisoformat(new["due_date"]),
                success_criteria=new["success_criteria"],
            )
        )
        return
    if spec.field == "period_end":
        setattr(engagement, period_end_field(engagement), catalog.python_value(spec, change["to"]))
        return
    row = engagement if spec.model is None else db.session.get(spec.model, change["id"])
    if spec.field == "remove":
        row.removed_at = clock.now()
        return
    setattr(row, spec.attribute, catalog.python_value(spec, change["to"]))


def reject(actor: User, request_id: int, reason: str | None) -> ChangeRequest:
    """Refuse a request with a written reason; nothing it proposed changes."""
    reason = (reason or "").strip()
    if not reason or len(reason) > TEXT_MAX:
        raise ValidationFailed(
            "Say why the request is rejected.",
            errors={"reason": [f"Give a reason of 1 to {TEXT_MAX} characters."]},
        )
    request = _decidable(actor, request_id)
    _claim(request, actor, REJECTED, reason)
    audit.record(
        request.engagement,
        actor,
        "change_request_rejected",
        reason=reason,
        data={"change_request_id": request.id},
    )
    queue_change_request_event(request, actor, "change_request.rejected")
    commit_and_derive()
    return request


def withdraw(actor: User, request_id: int) -> ChangeRequest:
    """Whoever raised a proposed request (or an admin) takes it back."""
    request = get_request(actor, request_id)
    if request.state != PROPOSED:
        raise Conflict(
            f"This change request is already {request.state}.",
            errors={"state": [f"Already {request.state}; only a proposed request is withdrawn."]},
        )
    if actor.id != request.raised_by_id and not actor.is_admin:
        raise Forbidden(
            "Only whoever raised the request (or an admin) withdraws it.",
            errors={"raised_by": ["Not raised by you."]},
        )
    _claim(request, actor, WITHDRAWN, None)
    audit.record(
        request.engagement,
        actor,
        "change_request_withdrawn",
        data={"change_request_id": request.id},
    )
    commit_and_derive()
    return request


# --- what a reader sees -------------------------------------------------------------


def view(request: ChangeRequest, actor: User) -> dict:
    """The request as `actor` may read it: cost figures only for who may see cost."""
    cost = can(actor, Action.VIEW_COST, request.engagement)
    changes = []
    for change in request.changes:
        shown = {"id": None, **change}
        if change["field"] == "monthly_cost" and not cost:
            shown["from"] = shown["to"] = None
        changes.append(shown)
    return {
        "id": request.id,
        "engagement_id": request.engagement_id,
        "state": request.state,
        "raised_in_state": request.raised_in_state,
        "raised_by": request.raised_by,
        "changes": changes,
        "why": request.why,
        "value": request.value,
        "cost_delta_monthly": request.cost_delta_monthly if cost else None,
        "cost_delta_total": request.cost_delta_total if cost else None,
        "schedule_delta_days": request.schedule_delta_days,
        "evidence_url": request.evidence_url,
        "decided_by": request.decided_by,
        "decided_at": request.decided_at,
        "decision_reason": request.decision_reason,
        "created_at": request.created_at,
        "needs_admin": needs_admin(request),
    }


# --- what a raise form offers ------------------------------------------------------


def choices(actor: User, engagement_id: int) -> tuple[Engagement, list[dict]]:
    """Every field a request may change on this engagement in its current state, with its
    value now: [{target, id, field, kind, subject, from, input}] (three queries)."""
    from tracker.models import MilestoneTarget, TeamMember

    engagement = get_visible_engagement(db.session, actor, engagement_id)
    state = lifecycle.state_of(engagement)
    offered = []

    def offer(spec, row, subject, kind_input):
        if state.needs_change_request(spec.kind):
            offered.append(
                {
                    "target": spec.target,
                    "id": row.id if row is not None else None,
                    "field": spec.field,
                    "kind": spec.kind,
                    "subject": subject,
                    "from": catalog.current(spec, engagement, row),
                    "input": kind_input,
                }
            )

    specs = catalog.SPECS
    if actor.is_client_side:
        offer(specs[("engagement", "monthly_cost")], None, "The engagement", "number")
    if state.is_period:
        offer(specs[("engagement", "period_end")], None, f"The {state.label} period", "date")
    milestones = db.session.scalars(
        select(Milestone)
        .where(Milestone.engagement_id == engagement.id, Milestone.removed_at.is_(None))
        .order_by(Milestone.due_date, Milestone.id)
    ).all()
    for m in milestones:
        subject = f"Milestone '{m.title}'"
        offer(specs[("milestone", "due_date")], m, subject, "date")
        offer(specs[("milestone", "success_criteria")], m, subject, "text")
        offer(specs[("milestone", "remove")], m, subject, "checkbox")
    targets = db.session.scalars(
        select(MilestoneTarget)
        .join(Milestone, Milestone.id == MilestoneTarget.milestone_id)
        .where(Milestone.engagement_id == engagement.id, Milestone.removed_at.is_(None))
        .options(joinedload(MilestoneTarget.metric), joinedload(MilestoneTarget.milestone))
        .order_by(MilestoneTarget.id)
    ).all()
    for t in targets:
        subject = f"Target for {t.metric.name} at '{t.milestone.title}'"
        offer(specs[("milestone_target", "target")], t, subject, "number")
    members = db.session.scalars(
        select(TeamMember).where(TeamMember.engagement_id == engagement.id).order_by(TeamMember.id)
    ).all()
    for member in members:
        offer(specs[("team_member", "allocation")], member, member.name, "number")
        offer(specs[("team_member", "end_date")], member, member.name, "date")
    return engagement, offered


def can_add_milestone(engagement: Engagement) -> bool:
    return lifecycle.state_of(engagement).needs_change_request("milestone_added")


def state_contracts_anything(engagement: Engagement) -> bool:
    """Whether the engagement's current state needs change requests for anything."""
    return bool(lifecycle.state_of(engagement).change_requests)
