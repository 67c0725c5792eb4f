"""The engagement page, the create/edit forms, lifecycle transitions and the health override."""

from __future__ import annotations

from datetime import UTC, datetime, time

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from tracker.auth.permissions import Action, can, require
from tracker.core import clock
from tracker.errors import GuardFailed, StaleVersion, ValidationFailed
from tracker.services.administration.users import person_label
from tracker.services.change_requests.rules import ChangeRequestRequired
from tracker.services.core import system
from tracker.services.read_model import dashboard as choices
from tracker.services.read_model.engagement_page import visible_engagement
from tracker.services.staffing import engagement_people
from tracker.services.staffing import engagements as engagement_service
from tracker.services.workflow import lifecycle, workflow_registry
from tracker.web.overview import AUDIT_LIMIT, load_overview
from tracker.web.support import person_picker
from tracker.web.support.forms import (
    ActionForm,
    EngagementForm,
    HealthOverrideForm,
    NewEngagementForm,
    transition_form_class,
    transition_inputs,
)
from tracker.web.support.responses import apply_errors, form_version, is_stale, refused_status
from tracker.web.support.row_links import row_urls
from tracker.web.support.typed_forms import TypedForm

bp = Blueprint("engagements", __name__)


# The per-row links and forms of the page, as `row_urls` format strings (`urls` in the
# templates): the id goes in with `.format(row.id)`.
ROW_ENDPOINTS = {
    "update_milestone": ("engagement_parts.update_milestone", "milestone_id"),
    "edit_milestone": ("engagement_parts.edit_milestone", "milestone_id"),
    "complete_item": ("engagement_parts.complete_item", "item_id"),
    "reopen_item": ("engagement_parts.reopen_item", "item_id"),
    "edit_item": ("engagement_parts.edit_item", "item_id"),
    "edit_member": ("engagement_parts.edit_member", "member_id"),
    "remove_member": ("engagement_parts.remove_member", "member_id"),
    "revoke_access": ("handover.revoke", "entry_id"),
    "verify_access": ("handover.verify", "entry_id"),
    "add_access": ("handover.add_access", "member_id"),
    "show_adr": ("knowledge.show_adr", "adr_id"),
}


def render_engagement(engagement_id: int, *, status: int = 200, **forms):
    """The engagement page; `forms` replaces blank forms with submitted (invalid) ones."""
    today = clock.now().date()
    overview = load_overview(current_user, engagement_id, today)
    transition_forms = {
        o.event: transition_form_class(o)(
            prefix=f"t-{o.event}", version=overview.engagement.version
        )
        for o in overview.options
    }
    transition_forms.update(forms.pop("transition_forms", {}))
    page = render_template(
        "engagements/show.html",
        o=overview,
        e=overview.engagement,
        audit_limit=AUDIT_LIMIT,
        today=today,
        transition_forms=transition_forms,
        urls=row_urls(ROW_ENDPOINTS),
        csrf=generate_csrf(),  # the per-row forms' token, read once (csrf_token() in a row)
        typed_form=forms.get("typed_evidence") or TypedForm(),  # a refused Evidence form
    )
    return page, status


@bp.get("/engagements/<int:engagement_id>")
@login_required
def show(engagement_id: int):
    """Header, lifecycle, transitions, checklists, milestones, team, timeline and audit."""
    return render_engagement(engagement_id)


def _engagement_form(form_class=EngagementForm, **kwargs) -> EngagementForm:
    form = form_class(**kwargs)
    form.set_choices(choices.provider_choices())
    return form


OWNER_NOT_FOUND = "Choose an owner from the list (name and email), or type their email."
CONTACT_NOT_FOUND = "Choose someone from the list (name and email), or type their email."
PICKED = (
    ("owner_id", "owner", OWNER_NOT_FOUND),
    ("technical_contact_id", "contact", CONTACT_NOT_FOUND),
)


def _picked_people(form: EngagementForm, engagement=None) -> dict | None:
    """The owner's and technical contact's ids the form's pickers name (the contact may be
    left empty); None, with a message beside each field naming nobody allowed, otherwise.
    On an edit whoever holds the role now stays allowed."""
    picked, refused = {}, False
    for name, kind, message in PICKED:
        field = getattr(form, name)
        if field.errors:  # too long to name anyone: its own message says so
            refused = True
            continue
        text = field.data.strip()  # without the field in the post: the id held now
        if not text and kind == "contact":
            picked[name] = None
            continue
        keep = getattr(engagement, name) if engagement is not None else None
        found = engagement_people.person_from_text(kind, text, keep) if text else None
        if found is None:
            field.errors = [*field.errors, message]
            refused = True
        picked[name] = found
    return None if refused else picked


def _show_people(form: EngagementForm, engagement) -> None:
    """What the pickers show for an engagement's current owner and contact."""
    form.owner_id.data = person_label(engagement.owner)
    form.technical_contact_id.data = person_label(engagement.technical_contact)


@bp.get("/engagements/people/<any(owner, contact):kind>")
@login_required
def person_suggestions(kind: str):
    """Suggestions for the engagement form's owner or technical-contact picker: `q`,
    `page` (20 a page), JSON like /pickers; to whoever may not edit engagements, a 404."""
    if not can(current_user, Action.EDIT):
        abort(404)
    return person_picker.suggestions(lambda text, page: engagement_people.choices(kind, text, page))


@bp.route("/engagements/new", methods=["GET", "POST"])
@login_required
def new():
    """A manager creates an engagement on a chosen workflow, in its first state, with the
    standard checklists; each workflow's diagram is on the form."""
    require(current_user, Action.EDIT)
    workflows = workflow_registry.workflow_choices()
    form = _engagement_form(NewEngagementForm, owner_id=person_label(current_user))
    form.set_workflows(workflows)
    valid = form.validate_on_submit()  # the pickers' messages come with the others'
    people = _picked_people(form) if form.is_submitted() else None
    if valid and people is not None:
        try:
            data = form.data_for_service() | people
            engagement = engagement_service.create_engagement(current_user, data)
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            state = lifecycle.state_label(engagement).lower()
            flash(f"Engagement '{engagement.title}' created in {state}.", "success")
            return redirect(url_for("engagements.show", engagement_id=engagement.id))
    status = 422 if form.is_submitted() else 200
    diagrams = {w.name: Markup(workflow_registry.diagram_svg(w.name)) for w in workflows}
    page = render_template(
        "engagements/form.html", form=form, engagement=None, workflows=workflows, diagrams=diagrams
    )
    return page, status


@bp.route("/engagements/<int:engagement_id>/edit", methods=["GET", "POST"])
@login_required
def edit(engagement_id: int):
    """Edit the engagement; a stale version is refused with a message, never overwritten."""
    engagement = visible_engagement(current_user, engagement_id)
    require(current_user, Action.EDIT, engagement)
    form = _engagement_form(obj=engagement)
    valid = form.validate_on_submit()
    people = _picked_people(form, engagement) if form.is_submitted() else None
    if valid and people is not None:
        try:
            engagement_service.update_engagement(
                current_user,
                engagement_id,
                form.data_for_service() | people,
                expected_version=form_version(form),
            )
        except (ValidationFailed, StaleVersion, ChangeRequestRequired) as error:
            apply_errors(form, error)
        else:
            flash("Engagement saved.", "success")
            return redirect(url_for("engagements.show", engagement_id=engagement_id))
    elif not form.is_submitted():
        form.version.data = engagement.version
        _show_people(form, engagement)
    status = 200 if not form.is_submitted() else (412 if is_stale(form) else refused_status(form))
    return render_template("engagements/form.html", form=form, engagement=engagement), status


@bp.post("/engagements/<int:engagement_id>/transitions/<event>")
@login_required
def fire(engagement_id: int, event: str):
    """Fire a lifecycle transition with the inputs it needs."""
    from tracker.services.workflow import transitions

    options = transitions.available_transitions(current_user, engagement_id)
    option = next((o for o in options if o.event == event), None)
    if option is None:
        flash(f"'{event}' is not possible from the engagement's current state.", "error")
        return redirect(url_for("engagements.show", engagement_id=engagement_id))
    form = transition_form_class(option)(prefix=f"t-{event}")
    if not form.validate_on_submit():
        flash("Check the highlighted fields.", "error")
        return render_engagement(engagement_id, status=422, transition_forms={event: form})
    try:
        transitions.fire(
            current_user,
            engagement_id,
            event,
            transition_inputs(form, option),
            expected_version=form_version(form),
            override_reason=(form.override_reason.data or "").strip() or None,
        )
    except GuardFailed as error:
        # the page lists what is unmet; the typed inputs stay for when it is
        system.discard_changes()
        message = f"{option.label}: {len(error.unmet)} requirement(s) are not met yet."
        form.form_errors = [message]
        flash(message, "error")
        return render_engagement(engagement_id, status=error.status, transition_forms={event: form})
    except (StaleVersion, ValidationFailed) as error:
        system.discard_changes()
        apply_errors(form, error)
        flash(error.message, "error")
        if is_stale(form):  # what was typed stays; the newer version goes in
            form.version.data = str(visible_engagement(current_user, engagement_id).version)
        return render_engagement(engagement_id, status=error.status, transition_forms={event: form})
    flash(f"{option.label}: done.", "success")
    return redirect(url_for("engagements.show", engagement_id=engagement_id))


@bp.route("/engagements/<int:engagement_id>/health", methods=["GET", "POST"])
@login_required
def override_health(engagement_id: int):
    """Set a manager's health override (a colour, why, and until when), on a page of its
    own: the engagement page carries a link, not the form (issue 29, ADR 0258)."""
    from tracker.services.judgments import health as health_service

    form = HealthOverrideForm(prefix="health")
    if not form.is_submitted():
        return _health_page(form, _editable(engagement_id))
    if form.validate_on_submit():
        until = datetime.combine(form.until.data, time(23, 59), UTC)
        try:
            health_service.override_health(
                current_user, engagement_id, form.health.data, form.note.data, until
            )
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            flash(f"Health set to {form.health.data} until {form.until.data:%-d %b}.", "success")
            return redirect(url_for("engagements.show", engagement_id=engagement_id))
    flash("The override was not saved; see the form.", "error")
    return _health_page(form, _editable(engagement_id), status=422)


def _editable(engagement_id: int):
    """The engagement if the user may edit it: 404 when they may not see it, 403 when they
    see it but may not edit it."""
    engagement = visible_engagement(current_user, engagement_id)
    require(current_user, Action.EDIT, engagement)
    return engagement


def _health_page(form, engagement, status: int = 200):
    page = render_template("engagements/health_form.html", form=form, e=engagement)
    return page, status


@bp.post("/engagements/<int:engagement_id>/health/clear")
@login_required
def clear_health_override(engagement_id: int):
    """Remove the override: health is derived from the data again."""
    from tracker.services.judgments import health as health_service

    if not ActionForm().validate_on_submit():
        flash("The form expired; try again.", "error")
    else:
        health_service.override_health(current_user, engagement_id, None, "", None)
        flash("Health override removed; health is derived from the data again.", "success")
    return redirect(url_for("engagements.show", engagement_id=engagement_id))
