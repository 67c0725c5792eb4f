"""Knowledge-retention pages: readiness, ADRs, shadows and artifacts of one engagement.

Forms post here and land back on the knowledge page; a refused form re-renders
it with the field messages and a 4xx status, and nothing changes. The refused form
comes back open with what was typed (see `Kept`); the other forms stay blank.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker.auth.permissions import Action, can
from tracker.errors import Conflict, Forbidden, StaleVersion, TrackerError, ValidationFailed
from tracker.models import Engagement
from tracker.services.core import system
from tracker.services.exchange import adr_exchange
from tracker.services.exchange.adr_formats import PROFILES
from tracker.services.judgments import readiness
from tracker.services.knowledge import adrs, artifacts, shadows
from tracker.services.knowledge.artifacts import KINDS
from tracker.services.read_model.engagement_page import hold_people, visible_engagement
from tracker.web.support.engagement_view import view_for
from tracker.web.support.person_picker import person_id

bp = Blueprint("knowledge", __name__)


@dataclass
class KnowledgeView:
    """What the panel and the page show for one engagement."""

    engagement: Engagement
    readiness: readiness.Readiness
    adrs: list
    shadows: list
    artifacts: list

    def can(self, action: str) -> bool:
        return can(current_user, Action(action), self.engagement)


@dataclass
class Kept:
    """What a refused form posted, for the template to put back: `kept.at(endpoint, id)`
    says whether a form is the refused one; `value`, `values` and `errors_for` read it.
    A blank `Kept` (no refusal) answers "not this form" everywhere."""

    endpoint: str | None = None
    target_id: int | None = None
    form: dict | None = None
    errors: dict | None = None

    def at(self, endpoint: str, target_id: int | None = None) -> bool:
        return self.endpoint == f"knowledge.{endpoint}" and (
            target_id is None or self.target_id == target_id
        )

    def value(self, endpoint: str, name: str, default="", target_id: int | None = None):
        if not self.at(endpoint, target_id):
            return default
        return self.form.get(name, "")

    def values(self, endpoint: str, name: str, target_id: int | None = None) -> list[str]:
        return self.form.getlist(name) if self.at(endpoint, target_id) else []

    def errors_for(self, endpoint: str, name: str, target_id: int | None = None) -> list[str]:
        if not self.at(endpoint, target_id):
            return []
        return list((self.errors or {}).get(name) or [])


def _kept(error: TrackerError | None) -> Kept:
    if error is None:
        return Kept()
    args = request.view_args or {}
    target = args.get("assignment_id", args.get("adr_id"))
    return Kept(request.endpoint, target, request.form, error.errors or {})


@bp.app_template_global("knowledge_for")
def knowledge_for(engagement: Engagement) -> KnowledgeView:
    """Everything knowledge-related about an engagement, for the engagement page's panel."""
    view = view_for(engagement)  # the facts the rest of the page shows, read once
    return KnowledgeView(
        engagement=engagement,
        readiness=view.readiness,
        adrs=view.adrs,
        shadows=view.shadows,
        artifacts=view.artifacts,
    )


@bp.app_template_global("render_markdown")
def render_markdown(text: str):
    return adrs.render_markdown(text)


def _page(engagement_id: int, *, status: int = 200, error: TrackerError | None = None):
    engagement = visible_engagement(current_user, engagement_id)
    people = hold_people(engagement)  # held until the page is rendered
    body = render_template(
        "knowledge/index.html",
        k=knowledge_for(engagement),
        engagement=engagement,
        shadowable=shadows.shadowable_members(engagement),
        artifact_kinds=KINDS,
        profiles=PROFILES,
        error=error,
        form=request.form if error else {},
        kept=_kept(error),
    )
    del people
    return body, status


@bp.get("/engagements/<int:engagement_id>/knowledge")
@login_required
def index(engagement_id: int):
    """Readiness with every gap, ADRs, shadows and artifacts, with the forms to fill the gaps."""
    return _page(engagement_id)


def _handle(engagement_id: int, work, done_message: str | None, anchor: str = "", page=None):
    """Run a service call; success redirects (303), a refused input re-renders the page
    the form is on (`page(error)`, the knowledge page by default) with its 4xx."""
    try:
        work()
    except (ValidationFailed, Conflict, StaleVersion, Forbidden) as error:
        system.discard_changes()
        if page is not None:
            return page(error)
        return _page(engagement_id, status=error.status, error=error)
    if done_message:
        flash(done_message, "success")
    target = url_for("knowledge.index", engagement_id=engagement_id)
    return redirect(f"{target}#{anchor}" if anchor else target, code=303)


def _text(name: str) -> str:
    return (request.form.get(name) or "").strip()


def _int(name: str, *, required: bool = True) -> int | None:
    raw = _text(name)
    if not raw and not required:
        return None
    if not raw.lstrip("-").isdigit():
        raise ValidationFailed("The form has invalid fields.", errors={name: ["Enter a number."]})
    return int(raw)


def _date(name: str, *, required: bool = True) -> date | None:
    raw = _text(name)
    if not raw and not required:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors = {name: ["Enter a date as YYYY-MM-DD."]}
        raise ValidationFailed("The form has invalid fields.", errors=errors) from None


def _adr_data() -> dict:
    data = {k: _text(k) for k in ("title", "deciders", "context", "decision", "consequences")}
    data["decided_on"] = _date("decided_on", required=False)
    data["supersedes_id"] = _int("supersedes_id", required=False)
    return data


@bp.post("/engagements/<int:engagement_id>/knowledge/adrs")
@login_required
def create_adr(engagement_id: int):
    def work():
        data = _adr_data()
        data["status"] = _text("status") or "proposed"
        adr = adrs.create_adr(current_user, engagement_id, data)
        flash(f"ADR {adr.number} saved as {adr.status}.", "success")

    return _handle(engagement_id, work, None, "adrs")


@bp.get("/adrs/<int:adr_id>")
@login_required
def show_adr(adr_id: int):
    """One ADR rendered, with its links, decision buttons, edit form and full history."""
    return _adr_page(adr_id)


def _adr_page(adr_id: int, error: TrackerError | None = None):
    """The ADR page; after a refused edit or decision, with what was typed and the messages."""
    adr = adrs.get_adr(current_user, adr_id)
    others = [a for a in adrs.list_adrs(current_user, adr.engagement_id) if a.id != adr.id]
    may_edit = can(current_user, Action.WRITE_ADR, adr.engagement) and (
        current_user.is_client_side
        or (adr.author_id == current_user.id and adr.status == "proposed")
    )
    may_decide = can(current_user, Action.DECIDE_ADR, adr.engagement)
    return render_template(
        "knowledge/adr.html",
        adr=adr,
        revisions=adrs.revisions_of(adr),
        others=others,
        may_edit=may_edit,
        may_decide=may_decide,
        error=error,
        kept=_kept(error),
    ), (error.status if error else 200)


@bp.post("/adrs/<int:adr_id>/edit")
@login_required
def edit_adr(adr_id: int):
    adr = adrs.get_adr(current_user, adr_id)
    version = _int("version", required=False)
    work = lambda: adrs.update_adr(current_user, adr_id, _adr_data(), expected_version=version)  # noqa: E731
    page = lambda error: _adr_page(adr_id, error)  # noqa: E731
    return _handle(adr.engagement_id, work, f"ADR {adr.number} saved.", "adrs", page)


@bp.post("/adrs/<int:adr_id>/decision")
@login_required
def decide_adr(adr_id: int):
    adr = adrs.get_adr(current_user, adr_id)
    status, number = _text("status"), adr.number

    def work():
        adrs.decide_adr(current_user, adr_id, status, note=_text("note"))

    page = lambda error: _adr_page(adr_id, error)  # noqa: E731
    return _handle(adr.engagement_id, work, f"ADR {number} is now {status}.", "adrs", page)


@bp.get("/engagements/<int:engagement_id>/knowledge/export")
@login_required
def export(engagement_id: int):
    """Download the ADRs as a zip in the chosen profile."""
    profile = request.args.get("profile", "adr-tools")
    data = adr_exchange.export_zip(current_user, engagement_id, profile)
    name = f"engagement-{engagement_id}-adrs-{profile}.zip"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(data, mimetype="application/zip", headers=headers)


@bp.post("/engagements/<int:engagement_id>/knowledge/import")
@login_required
def import_adrs(engagement_id: int):
    def work():
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ValidationFailed("Choose a zip file.", errors={"file": ["Choose a zip file."]})
        files = adr_exchange.files_from_zip(upload.read())
        created = adr_exchange.import_files(current_user, engagement_id, files)
        flash(f"Imported {len(created)} ADR(s).", "success")

    return _handle(engagement_id, work, None, "adrs")


@bp.post("/engagements/<int:engagement_id>/knowledge/shadows")
@login_required
def assign_shadow(engagement_id: int):
    def work():
        data = {
            "member_id": _int("member_id"),
            "shadow_id": person_id("shadow_id"),
            "areas": request.form.getlist("areas"),
            "start_date": _date("start_date", required=False),
            "end_date": _date("end_date", required=False),
        }
        shadows.assign_shadow(current_user, engagement_id, data)

    return _handle(engagement_id, work, "Shadow assigned.", "shadows")


def _shadow_engagement(assignment_id: int) -> int:
    return shadows.get_shadow(current_user, assignment_id).engagement_id


@bp.post("/shadows/<int:assignment_id>/sessions")
@login_required
def log_session(assignment_id: int):
    def work():
        data = {
            "held_on": _date("held_on"),
            "duration_minutes": _int("duration_minutes"),
            "topic": _text("topic"),
            "notes": _text("notes"),
        }
        shadows.log_session(current_user, assignment_id, data)

    return _handle(_shadow_engagement(assignment_id), work, "Session logged.", "shadows")


@bp.post("/shadows/<int:assignment_id>/confidence")
@login_required
def rate_confidence(assignment_id: int):
    work = lambda: shadows.rate_confidence(current_user, assignment_id, _int("confidence"))  # noqa: E731
    return _handle(_shadow_engagement(assignment_id), work, "Confidence saved.", "shadows")


@bp.post("/shadows/<int:assignment_id>/sign-off")
@login_required
def sign_off(assignment_id: int):
    work = lambda: shadows.sign_off(current_user, assignment_id)  # noqa: E731
    return _handle(_shadow_engagement(assignment_id), work, "Shadow signed off.", "shadows")


@bp.post("/engagements/<int:engagement_id>/knowledge/artifacts")
@login_required
def add_artifact(engagement_id: int):
    def work():
        data = {k: _text(k) for k in ("kind", "title", "url", "description")}
        artifacts.add_artifact(current_user, engagement_id, data)

    return _handle(engagement_id, work, "Link added.", "artifacts")


@bp.post("/artifacts/<int:artifact_id>/delete")
@login_required
def remove_artifact(artifact_id: int):
    engagement_id = artifacts.get_artifact(current_user, artifact_id).engagement_id
    work = lambda: artifacts.remove_artifact(current_user, artifact_id)  # noqa: E731
    return _handle(engagement_id, work, "Link removed.", "artifacts")
