"""Handover pages: drills on the knowledge page, the access register and the Exit on the
engagement page. Forms post here; a refused one re-renders its page with the field
messages and a 4xx, and nothing changes; success redirects (303) to the section."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, g, redirect, request, url_for
from flask_login import current_user, login_required

from tracker.core import clock
from tracker.core.downloads import csv_response
from tracker.errors import Conflict, Forbidden, StaleVersion, TrackerError, ValidationFailed
from tracker.models import Engagement, Role
from tracker.services.core import system
from tracker.services.handover import access, drills, exits
from tracker.services.handover.views import handover_view
from tracker.services.knowledge.shadows import get_shadow
from tracker.web.support.engagement_view import view_for
from tracker.web.support.person_picker import person_id

bp = Blueprint("handover", __name__)
REFUSED = (ValidationFailed, Conflict, StaleVersion, Forbidden)


@bp.app_template_global("handover_for")
def handover_for(engagement: Engagement):
    """The access register, the exit confirmations and what is still open, for the page."""
    view = view_for(engagement)  # the rows and Subject the rest of the page uses
    loaded = (view.access, view.exit, view.subject)
    return handover_view(current_user, engagement, clock.now().date(), loaded=loaded)


@bp.app_template_global("access_kinds")
def access_kinds() -> tuple[str, ...]:
    """The kinds an access entry may have, in the order the form lists them."""
    return access.KINDS


@bp.app_template_global("drills_by_shadow")
def drills_by_shadow(engagement: Engagement) -> dict[int, list]:
    """The engagement's drills grouped by shadow assignment: one read for the whole page."""
    grouped: dict[int, list] = {}
    for drill in drills.list_for_engagement(current_user, engagement.id):
        grouped.setdefault(drill.shadow_id, []).append(drill)
    return grouped


@bp.app_template_global("may_record_drill")
def may_record_drill(assignment) -> bool:
    """Client-side people record drills: the shadow, or whoever edits the engagement."""
    from tracker.auth.permissions import Action, can

    if current_user.role == Role.PROVIDER or assignment.engagement.is_closed:
        return False
    return current_user.id == assignment.shadow_id or can(
        current_user, Action.EDIT, assignment.engagement
    )


@bp.app_template_global("handover_refusal")
def handover_refusal(endpoint: str, target_id: int | None = None) -> dict:
    """The refused form's errors by field, when it is this one ({} otherwise)."""
    refused = g.get("handover_refused")
    if not refused or refused[0] != f"handover.{endpoint}" or refused[1] != target_id:
        return {}
    return refused[2]


def _text(name: str) -> str:
    return (request.form.get(name) or "").strip()


def _optional_int(name: str) -> int | None:
    raw = _text(name)
    if not raw:
        return None
    if not raw.isdigit():
        raise ValidationFailed("The form has invalid fields.", errors={name: ["Choose one."]})
    return int(raw)


def _optional_date(name: str) -> date | None:
    raw = _text(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors = {name: ["Enter a date as YYYY-MM-DD."]}
        raise ValidationFailed("The form has invalid fields.", errors=errors) from None


def _refused(error: TrackerError, target_id: int | None) -> None:
    system.discard_changes()
    g.handover_refused = (request.endpoint, target_id, error.errors or {}, request.form)
    flash(error.message, "error")


def _on_knowledge_page(engagement_id: int, work, done: str, target_id: int):
    from tracker.web.knowledge import _page

    try:
        work()
    except REFUSED as error:
        _refused(error, target_id)
        return _page(engagement_id, status=error.status, error=error)
    flash(done, "success")
    target = url_for("knowledge.index", engagement_id=engagement_id)
    return redirect(f"{target}#shadow-{target_id}", code=303)


def _on_engagement_page(engagement_id: int, work, done: str, anchor: str, target_id=None):
    from tracker.web.engagements import render_engagement

    try:
        work()
    except REFUSED as error:
        _refused(error, target_id)
        return render_engagement(engagement_id, status=error.status)
    flash(done, "success")
    target = url_for("engagements.show", engagement_id=engagement_id)
    return redirect(f"{target}#{anchor}", code=303)


@bp.get("/engagements/<int:engagement_id>/access.csv")
@login_required
def access_csv(engagement_id: int):
    """The access register as CSV, for an auditor (what the viewer may see of it)."""
    chunks = access.access_csv(current_user, engagement_id)
    return csv_response(chunks, f"engagement-{engagement_id}-access.csv")


@bp.post("/shadows/<int:assignment_id>/drills")
@login_required
def record_drill(assignment_id: int):
    """Record a walk-away drill of one of the assignment's areas."""
    engagement_id = get_shadow(current_user, assignment_id).engagement_id

    def work():
        data = {
            "area": _text("area"),
            "task": _text("task"),
            "performed_by_id": person_id("performed_by_id", required=False),
            "observed_by_id": person_id("observed_by_id", required=False),
            "performed_on": _optional_date("performed_on"),
            "outcome": _text("outcome"),
            "minutes": _optional_int("minutes"),
            "missing": _text("missing"),
            "evidence_url": _text("evidence_url"),
        }
        drills.record_drill(current_user, assignment_id, data)

    return _on_knowledge_page(engagement_id, work, "Drill recorded.", assignment_id)


@bp.post("/drills/<int:drill_id>/comments")
@login_required
def comment(drill_id: int):
    """Comment on a drill."""
    shadow_id, engagement_id = _drill_place(drill_id)
    work = lambda: drills.comment_on_drill(current_user, drill_id, _text("body"))  # noqa: E731
    return _on_knowledge_page(engagement_id, work, "Comment added.", shadow_id)


def _drill_place(drill_id: int) -> tuple[int, int]:
    found = drills.get_drill(current_user, drill_id)
    return found.shadow_id, found.engagement_id


@bp.post("/members/<int:member_id>/access")
@login_required
def add_access(member_id: int):
    """List a system the member was given access to."""
    engagement_id = access.member_engagement_id(current_user, member_id)

    def work():
        data = {
            "system": _text("system"),
            "kind": _text("kind"),
            "account": _text("account"),
            "granted_on": _optional_date("granted_on"),
        }
        access.add_entry(current_user, member_id, data)

    return _on_engagement_page(engagement_id, work, "Access listed.", "access", member_id)


@bp.post("/access/<int:entry_id>/revoke")
@login_required
def revoke(entry_id: int):
    """Mark the access revoked."""
    engagement_id = access.get_entry(current_user, entry_id).engagement_id
    work = lambda: access.revoke_entry(current_user, entry_id, _text("note"))  # noqa: E731
    anchor = f"access-{entry_id}"
    return _on_engagement_page(engagement_id, work, "Access revoked.", anchor, entry_id)


@bp.post("/access/<int:entry_id>/verify")
@login_required
def verify(entry_id: int):
    """Verify somebody else's revocation."""
    engagement_id = access.get_entry(current_user, entry_id).engagement_id
    work = lambda: access.verify_entry(current_user, entry_id, _text("how"))  # noqa: E731
    anchor = f"access-{entry_id}"
    return _on_engagement_page(engagement_id, work, "Revocation verified.", anchor, entry_id)


@bp.post("/engagements/<int:engagement_id>/exit")
@login_required
def confirm_exit(engagement_id: int):
    """Save the exit confirmations."""

    def work():
        data = {
            "ip_assignment_confirmed_on": _optional_date("ip_assignment_confirmed_on"),
            "ip_document_url": _text("ip_document_url"),
            "data_disposition": _text("data_disposition") or None,
            "data_certificate_url": _text("data_certificate_url"),
            "artifacts_transferred_to": _text("artifacts_transferred_to"),
        }
        exits.put_exit(current_user, engagement_id, data)

    return _on_engagement_page(engagement_id, work, "Exit confirmations saved.", "exit")
