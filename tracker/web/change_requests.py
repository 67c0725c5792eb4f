"""Change request pages (issue 31): raise (choose changes, from → to), list with the drift,
compare a request's changes, approve, reject with a reason, withdraw.

A refused form re-renders with what was typed and the field messages (docs/adr/0175's
rule) and a 4xx; nothing changes. Success redirects (303) to the request's page.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker.errors import Conflict, Forbidden, ValidationFailed
from tracker.services.change_requests import drift, service
from tracker.services.change_requests.rules import KIND_WORDS

bp = Blueprint("change_requests", __name__)
REFUSED = (ValidationFailed, Conflict, Forbidden)
ADD = ("add_title", "add_due_date", "add_criteria")


def input_name(choice: dict) -> str:
    """The form input of one offered change: to:<target>:<id>:<field>."""
    return f"to:{choice['target']}:{choice['id'] or 0}:{choice['field']}"


def _typed(choice: dict, raw: str):
    """The typed value in the shape the service reads; what does not parse is passed as
    typed, so the service names the field."""
    if choice["input"] == "checkbox":
        return None
    if choice["field"] == "allocation":
        return int(raw) if raw.isdigit() else raw
    if choice["field"] == "target":
        try:
            return float(raw)
        except ValueError:
            return raw
    return raw


def _number(raw: str):
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        return raw  # the service says "Give a number." against the field
    return int(value) if value.is_integer() and "." not in raw else value


def _from_form(offered: list[dict]) -> tuple[dict, list[str]]:
    """The request body from the posted form, and the input name of each change in order."""
    form = request.form
    changes, names = [], []
    for choice in offered:
        name = input_name(choice)
        raw = (form.get(name) or "").strip()
        if not raw or (choice["input"] == "checkbox" and raw != "1"):
            continue
        change = {"target": choice["target"], "field": choice["field"]}
        if choice["id"] is not None:
            change["id"] = choice["id"]
        change["to"] = _typed(choice, raw)
        changes.append(change)
        names.append(name)
    title, due, criteria = ((form.get(k) or "").strip() for k in ADD)
    if title or due:
        to = {"title": title, "due_date": due, "success_criteria": criteria}
        changes.append({"target": "milestone", "field": "add", "to": to})
        names.append("add_title")
    days = (form.get("schedule_delta_days") or "").strip()
    body = {
        "changes": changes,
        "why": form.get("why") or "",
        "value": form.get("value") or "",
        "cost_delta_monthly": _number((form.get("cost_delta_monthly") or "").strip()) or 0,
        "cost_delta_total": _number((form.get("cost_delta_total") or "").strip()),
        "schedule_delta_days": int(days) if days.lstrip("-").isdigit() else (days or None),
        "evidence_url": (form.get("evidence_url") or "").strip() or None,
    }
    return body, names


def _errors_by_input(errors: dict, names: list[str]) -> dict[str, list[str]]:
    """Service errors ("changes.2.to") keyed by the form's input names."""
    placed: dict[str, list[str]] = {}
    for key, messages in errors.items():
        parts = key.split(".")
        if parts[0] == "changes" and len(parts) > 1 and parts[1].isdigit():
            index = int(parts[1])
            key = names[index] if index < len(names) else "changes"
        placed.setdefault(key, []).extend(messages)
    return placed


@bp.route("/engagements/<int:engagement_id>/change-requests")
@login_required
def index(engagement_id: int):
    """The engagement's requests, newest first, and the drift they add up to."""
    requests = service.list_requests(current_user, engagement_id)
    engagement, offered = service.choices(current_user, engagement_id)
    summary = drift.view(drift.engagement_drift(current_user, engagement_id), current_user)
    return render_template(
        "change_requests/index.html",
        engagement=engagement,
        requests=requests,
        drift=summary,
        may_raise=service.may_raise(current_user, engagement) and bool(offered),
    )


@bp.route("/engagements/<int:engagement_id>/change-requests/new", methods=["GET", "POST"])
@login_required
def new(engagement_id: int):
    """Raise a request: every field the current state contracts, with its value now."""
    engagement, offered = service.choices(current_user, engagement_id)
    errors: dict[str, list[str]] = {}
    message = None
    if request.method == "POST":
        body, names = _from_form(offered)
        try:
            raised = service.raise_request(current_user, engagement_id, body)
        except REFUSED as error:
            errors, message = _errors_by_input(error.errors, names), error.message
            status = error.status
        else:
            flash(f"Change request #{raised.id} raised; the owner decides it.", "success")
            return redirect(url_for("change_requests.show", request_id=raised.id), 303)
    else:
        status = 200
    page = render_template(
        "change_requests/new.html",
        engagement=engagement,
        offered=offered,
        input_name=input_name,
        add_milestone=service.can_add_milestone(engagement),
        values=request.form,
        errors=errors,
        message=message,
        kind_words=KIND_WORDS,
        may_raise=service.may_raise(current_user, engagement),
    )
    return page, status


def _show(request_id: int, status: int = 200, *, errors=None, message=None):
    found = service.get_request(current_user, request_id)
    page = render_template(
        "change_requests/show.html",
        cr=service.view(found, current_user),
        engagement=found.engagement,
        may_decide=found.is_open and service.may_decide(current_user, found),
        may_withdraw=found.is_open
        and (current_user.id == found.raised_by_id or current_user.is_admin),
        errors=errors or {},
        message=message,
        values=request.form,
    )
    return page, status


@bp.get("/change-requests/<int:request_id>")
@login_required
def show(request_id: int):
    """One request: each change from → to, why, value, cost, schedule, and the decision."""
    return _show(request_id)


def _decide(request_id: int, act, done: str):
    try:
        act()
    except REFUSED as error:
        return _show(request_id, error.status, errors=error.errors, message=error.message)
    flash(done, "success")
    return redirect(url_for("change_requests.show", request_id=request_id), 303)


@bp.post("/change-requests/<int:request_id>/approve")
@login_required
def approve(request_id: int):
    return _decide(
        request_id,
        lambda: service.approve(current_user, request_id),
        "Approved: every change is applied.",
    )


@bp.post("/change-requests/<int:request_id>/reject")
@login_required
def reject(request_id: int):
    reason = request.form.get("reason")
    return _decide(
        request_id, lambda: service.reject(current_user, request_id, reason), "Rejected."
    )


@bp.post("/change-requests/<int:request_id>/withdraw")
@login_required
def withdraw(request_id: int):
    return _decide(request_id, lambda: service.withdraw(current_user, request_id), "Withdrawn.")


@bp.app_template_global("change_requests_for")
def change_requests_for(engagement) -> dict:
    """The engagement page's card: the requests, the drift, whether this user may raise one
    (one query for the requests, one for the drift)."""
    requests = service.list_requests(current_user, engagement.id)
    approved = [r for r in requests if r.state == "approved"]
    facts = [
        drift.ApprovedFact(
            r.id,
            r.why,
            r.decided_at,
            r.schedule_delta_days,
            r.cost_delta_monthly,
            r.cost_delta_total,
        )
        for r in approved
    ]
    summary = drift.view(drift.drift_of(engagement, facts), current_user)
    contracted = bool(engagement.state) and service.state_contracts_anything(engagement)
    return {
        "requests": requests,
        "drift": summary,
        "may_raise": contracted and service.may_raise(current_user, engagement),
    }
