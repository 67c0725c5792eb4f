"""Actions on an engagement's parts: checklist items, milestone updates and the team."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker.auth.permissions import Action, require
from tracker.errors import ConcurrentUpdate, StaleVersion, ValidationFailed
from tracker.models import ChecklistItem, Milestone, TeamMember
from tracker.services.administration import users
from tracker.services.change_requests.rules import ChangeRequestRequired
from tracker.services.delivery import checklists as checklist_service
from tracker.services.delivery import milestones as milestone_service
from tracker.services.read_model import engagement_page
from tracker.services.staffing import team as team_service
from tracker.web.auth import safe_next
from tracker.web.engagements import render_engagement
from tracker.web.landing import render_my_milestones
from tracker.web.support import person_picker
from tracker.web.support.forms import (
    ActionForm,
    ChecklistItemEditForm,
    ChecklistItemForm,
    ChecklistNoteForm,
    MilestoneEditForm,
    MilestoneForm,
    MilestoneUpdateForm,
    TeamMemberForm,
)
from tracker.web.support.responses import apply_errors, form_version, is_stale, refused_status

bp = Blueprint("engagement_parts", __name__)


def _back(engagement_id: int, anchor: str = ""):
    target = safe_next(request.form.get("next"))
    return redirect(target or url_for("engagements.show", engagement_id=engagement_id) + anchor)


@bp.post("/checklist/<int:item_id>/complete")
@login_required
def complete_item(item_id: int):
    """Mark a checklist item done (or not applicable), with an optional note."""
    form = ChecklistNoteForm()
    if not form.validate_on_submit():
        flash("The note is too long (at most 2000 characters).", "error")
        item = _visible(ChecklistItem, item_id)
        return _back(item.engagement_id, f"#checklist-{item_id}")
    try:
        item = checklist_service.complete_item(
            current_user, item_id, note=form.note.data or "", status=form.status.data
        )
    except ValidationFailed as error:  # a bound item while its fact is false
        flash(error.message, "error")
        return render_engagement(_visible(ChecklistItem, item_id).engagement_id, status=422)
    flash(f"'{item.title}' marked {form.status.data.replace('_', ' ')}.", "success")
    return _back(item.engagement_id, f"#checklist-{item_id}")


@bp.post("/checklist/<int:item_id>/reopen")
@login_required
def reopen_item(item_id: int):
    """Reopen a completed checklist item."""
    form = ChecklistNoteForm()
    if not form.validate_on_submit():
        flash("The form expired or the note is too long; try again.", "error")
        item = _visible(ChecklistItem, item_id)
        return _back(item.engagement_id, f"#checklist-{item_id}")
    try:
        item = checklist_service.reopen_item(current_user, item_id, note=form.note.data or "")
    except ValidationFailed as error:  # a bound item while its fact holds
        flash(error.message, "error")
        return render_engagement(_visible(ChecklistItem, item_id).engagement_id, status=422)
    flash(f"'{item.title}' reopened.", "success")
    return _back(item.engagement_id, f"#checklist-{item_id}")


@bp.route("/milestones/<int:milestone_id>/update", methods=["GET", "POST"])
@login_required
def update_milestone(milestone_id: int):
    """The provider's status update (status, note, evidence link): posted from My
    milestones or from its own page, which the engagement page links (issue 29)."""
    if request.method == "GET":
        milestone = _updatable_milestone(milestone_id)
        form = MilestoneUpdateForm(
            prefix=f"m{milestone_id}", status=milestone.status, version=milestone.version
        )
        return _update_page(form, milestone)
    form = MilestoneUpdateForm(prefix=f"m{milestone_id}")
    from_my_list = request.form.get("from") == "my_milestones"
    if form.validate_on_submit():
        try:
            update = milestone_service.record_update(
                current_user,
                milestone_id,
                status=form.status.data,
                note=form.note.data or "",
                evidence=[form.evidence.data] if form.evidence.data else [],
                reason=form.reason.data or None,
                expected_version=form_version(form),
            )
        except (ValidationFailed, StaleVersion, ConcurrentUpdate) as error:
            apply_errors(form, error)
            if not isinstance(error, ValidationFailed):
                # what was typed stays; the newer version goes in, so saving again is a choice
                form.version.data = str(_visible(Milestone, milestone_id).version)
        else:
            flash(
                f"'{update.milestone.title}' is now {update.status.replace('_', ' ')}.", "success"
            )
            return _after_update(milestone_id, from_my_list)
    return _invalid_update(milestone_id, form, from_my_list)


def _after_update(milestone_id: int, from_my_list: bool):
    if from_my_list:
        return redirect(url_for("landing.my_milestones") + f"#milestone-{milestone_id}")
    milestone = engagement_page.visible_part(current_user, Milestone, milestone_id)
    return redirect(
        url_for("engagements.show", engagement_id=milestone.engagement_id)
        + f"#milestone-{milestone_id}"
    )


def _invalid_update(milestone_id: int, form, from_my_list: bool):
    """Re-render the page the form came from, the typed values and messages kept."""
    flash("The update was not saved; see the form.", "error")
    status = 412 if is_stale(form) else 422
    if from_my_list:
        milestones = milestone_service.my_milestones(current_user)
        forms = {m.id: MilestoneUpdateForm(prefix=f"m{m.id}", status=m.status) for m in milestones}
        forms[milestone_id] = form
        return render_my_milestones(milestones, forms), status
    return _update_page(form, _visible(Milestone, milestone_id), status)


def _updatable_milestone(milestone_id: int) -> Milestone:
    """The milestone if the user may update its status: 404 when its engagement is not
    visible (as for one that does not exist), 403 when visible but not theirs to update."""
    milestone = _visible(Milestone, milestone_id)
    engagement = engagement_page.visible_engagement(
        current_user, milestone.engagement_id, "Milestone not found."
    )
    require(current_user, Action.UPDATE_MILESTONE, engagement)
    return milestone


def _update_page(form, milestone: Milestone, status: int = 200):
    """The status update form alone; the judged status stays on the engagement page, beside
    the evidence it is judged from."""
    page = render_template(
        "engagement_parts/milestone_update.html",
        form=form,
        milestone=milestone,
        engagement=milestone.engagement,
    )
    return page, status


@bp.get("/engagements/<int:engagement_id>/milestones/new")
@login_required
def new_milestone(engagement_id: int):
    """The add-a-milestone form on a page of its own: the engagement page carries a link,
    not the form (issue 29, ADR 0258)."""
    engagement = _editable_engagement(engagement_id)
    return _new_milestone_page(MilestoneForm(prefix="milestone"), engagement)


@bp.post("/engagements/<int:engagement_id>/milestones")
@login_required
def add_milestone(engagement_id: int):
    """A manager adds a milestone to the current period; a refusal answers on the form's
    page with what was typed."""
    form = MilestoneForm(prefix="milestone")
    if form.validate_on_submit():
        try:
            milestone = milestone_service.create_milestone(
                current_user, engagement_id, form.data_for_service()
            )
        except (ValidationFailed, ChangeRequestRequired) as error:
            apply_errors(form, error)
        else:
            flash(f"Milestone '{milestone.title}' added.", "success")
            return _back(engagement_id, f"#milestone-{milestone.id}")
    flash("The milestone was not added; see the form.", "error")
    engagement = _editable_engagement(engagement_id)
    return _new_milestone_page(form, engagement, status=refused_status(form))


def _editable_engagement(engagement_id: int):
    """The engagement if the user may edit it: 404 when they may not see it, 403 when they
    see it but may not edit it."""
    engagement = engagement_page.visible_engagement(current_user, engagement_id)
    require(current_user, Action.EDIT, engagement)
    return engagement


def _new_milestone_page(form, engagement, status: int = 200):
    page = render_template("engagement_parts/new_milestone.html", form=form, engagement=engagement)
    return page, status


@bp.route("/milestones/<int:milestone_id>/edit", methods=["GET", "POST"])
@login_required
def edit_milestone(milestone_id: int):
    """A manager changes a milestone's title, due date or success criteria, or removes it,
    on a page of its own: the engagement page carries a link per milestone, not a form
    (issue 29)."""
    milestone = _editable_milestone(milestone_id)
    form = MilestoneEditForm(prefix=f"edit{milestone_id}")
    if not form.is_submitted():
        form = MilestoneEditForm(
            prefix=f"edit{milestone_id}", obj=milestone, version=milestone.version
        )
        return _milestone_page(form, milestone)
    if form.validate_on_submit():
        try:
            milestone_service.update_milestone(
                current_user, milestone_id, form.data_for_service(), form_version(form)
            )
        except (ValidationFailed, StaleVersion, ConcurrentUpdate, ChangeRequestRequired) as error:
            apply_errors(form, error)
            if isinstance(error, StaleVersion | ConcurrentUpdate):
                # a newer version is on the page now: saving again overwrites knowingly
                form.version.data = str(_visible(Milestone, milestone_id).version)
        else:
            flash(f"Milestone '{form.title.data.strip()}' saved.", "success")
            return _back(milestone.engagement_id, f"#milestone-{milestone_id}")
    flash("The milestone was not saved; see the form.", "error")
    status = 412 if is_stale(form) else refused_status(form)
    return _milestone_page(form, milestone, status=status)


def _editable_milestone(milestone_id: int) -> Milestone:
    """The milestone if the user may edit its engagement: 404 when the engagement is not
    visible (as for a milestone that does not exist), 403 when visible but not theirs."""
    milestone = _visible(Milestone, milestone_id)
    engagement = engagement_page.visible_engagement(
        current_user, milestone.engagement_id, "Milestone not found."
    )
    require(current_user, Action.EDIT, engagement)
    return milestone


def _milestone_page(form, milestone: Milestone, status: int = 200):
    page = render_template(
        "engagement_parts/milestone_form.html",
        form=form,
        milestone=milestone,
        engagement=milestone.engagement,
    )
    return page, status


@bp.post("/milestones/<int:milestone_id>/remove")
@login_required
def remove_milestone(milestone_id: int):
    """A manager removes a milestone (one with updates keeps its history)."""
    milestone = _visible(Milestone, milestone_id)
    engagement_id, title = milestone.engagement_id, milestone.title
    form = ActionForm()
    if form.validate_on_submit():
        try:
            milestone_service.remove_milestone(current_user, milestone_id, form_version(form))
        except (StaleVersion, ConcurrentUpdate, ChangeRequestRequired) as error:
            flash(f"Milestone '{title}' was not removed: {error.message}", "error")
            return _back(engagement_id, f"#milestone-{milestone_id}")
        flash(f"Milestone '{title}' removed.", "success")
    else:
        flash("The form expired; try again.", "error")
    return _back(engagement_id, "#milestones")


@bp.get("/engagements/<int:engagement_id>/checklist/new")
@login_required
def new_item(engagement_id: int):
    """The add-item form on a page of its own, so the engagement page never carries the
    owner picker (ADR 0200)."""
    engagement = _checklist_engagement(engagement_id)
    form = ChecklistItemForm(prefix="item")
    return _item_page(form, engagement=engagement)


@bp.post("/engagements/<int:engagement_id>/checklist")
@login_required
def add_item(engagement_id: int):
    """A manager adds an item to one of the engagement's checklists."""
    form = ChecklistItemForm(prefix="item")
    engagement = _checklist_engagement(engagement_id)
    if form.validate_on_submit() and (data := _item_data(form, engagement)) is not None:
        try:
            item = checklist_service.add_item(current_user, engagement_id, data)
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            flash(f"Checklist item '{item.title}' added.", "success")
            return _back(engagement_id, f"#checklist-{item.id}")
    flash("The checklist item was not added; see the form.", "error")
    return _item_page(form, engagement=engagement, status=422)


@bp.route("/checklist/<int:item_id>/edit", methods=["GET", "POST"])
@login_required
def edit_item(item_id: int):
    """A manager changes an item's title, owner, due date, note or evidence link, or moves
    or removes it, on a page of its own."""
    item = _editable_item(item_id)
    form = ChecklistItemEditForm(prefix=f"item{item_id}")
    if not form.is_submitted():
        form = ChecklistItemEditForm(prefix=f"item{item_id}", obj=item, version=item.version)
        form.owner_id.data = users.person_label(item.owner)
        return _item_page(form, item=item)
    if (
        form.validate_on_submit()
        and (data := _item_data(form, item.engagement, item.owner_id)) is not None
    ):
        try:
            checklist_service.update_item(current_user, item_id, data, form_version(form))
        except (ValidationFailed, StaleVersion, ConcurrentUpdate) as error:
            apply_errors(form, error)
            if not isinstance(error, ValidationFailed):
                form.version.data = str(_visible(ChecklistItem, item_id).version)
        else:
            flash(f"Checklist item '{form.title.data.strip()}' saved.", "success")
            return _back(item.engagement_id, f"#checklist-{item_id}")
    flash("The checklist item was not saved; see the form.", "error")
    return _item_page(form, item=item, status=412 if is_stale(form) else 422)


def _checklist_engagement(engagement_id: int):
    """The engagement if the user may add to its checklists (404 unseen, 403 not theirs)."""
    engagement = engagement_page.visible_engagement(current_user, engagement_id)
    require(current_user, Action.COMPLETE_CHECKLIST, engagement)
    return engagement


def _item_data(form, engagement, keep: int | None = None) -> dict | None:
    """The form's data with the owner picker's text resolved to an id (empty: no owner);
    None, with the message on the field, when it names nobody who may own the item."""
    data = form.data_for_service()
    text = (form.owner_id.data or "").strip()
    if not text:
        data["owner_id"] = None
        return data
    data["owner_id"] = checklist_service.owner_from_text(engagement, text, keep)
    if data["owner_id"] is None:
        form.owner_id.errors = [*form.owner_id.errors, OWNER_NOT_FOUND]
        return None
    return data


OWNER_NOT_FOUND = "Choose an owner from the list (name and email), or type their email."


@bp.get("/engagements/<int:engagement_id>/checklist/owners")
@login_required
def owner_suggestions(engagement_id: int):
    """Suggestions for an item's owner picker: `q` (part of a name or address), `page`
    (20 a page). JSON like /pickers/...; 404 for an engagement not seen, 403 not theirs."""
    engagement = _checklist_engagement(engagement_id)
    return person_picker.suggestions(
        lambda text, page: checklist_service.owner_suggestions(engagement, text, page)
    )


def _item_page(form, *, item=None, engagement=None, status: int = 200):
    """The add or edit form of a checklist item with its owner picker (suggestions from
    owner_suggestions, not a list of every person who could own it)."""
    engagement = engagement or item.engagement
    place = checklist_service.place_in_checklist(item) if item is not None else None
    page = render_template(
        "engagement_parts/item_form.html", form=form, item=item, engagement=engagement, place=place
    )
    return page, status


@bp.post("/checklist/<int:item_id>/remove")
@login_required
def remove_item(item_id: int):
    """A manager removes an item added to a checklist."""
    item = _editable_item(item_id)
    engagement_id, title = item.engagement_id, item.title
    form = ActionForm()
    if not form.validate_on_submit():
        flash("The form expired; try again.", "error")
        return _back(engagement_id, f"#checklist-{item_id}")
    try:
        checklist_service.remove_item(current_user, item_id, form_version(form))
    except (ValidationFailed, StaleVersion, ConcurrentUpdate) as error:
        flash(f"'{title}' was not removed: {error.message}", "error")
        return _back(engagement_id, f"#checklist-{item_id}")
    flash(f"Checklist item '{title}' removed.", "success")
    return _back(engagement_id, "#checklists")


@bp.post("/checklist/<int:item_id>/move/<any(up, down):direction>")
@login_required
def move_item(item_id: int, direction: str):
    """Move an item one place up or down within its checklist."""
    item = _editable_item(item_id)
    form = ActionForm()
    if not form.validate_on_submit():
        flash("The form expired; try again.", "error")
    else:
        try:
            checklist_service.move_item(current_user, item_id, direction, form_version(form))
        except (ValidationFailed, StaleVersion, ConcurrentUpdate) as error:
            flash(f"'{item.title}' was not moved: {error.message}", "error")
    return _back(item.engagement_id, f"#checklist-{item_id}")


def _editable_item(item_id: int) -> ChecklistItem:
    """The item if the user may change its checklist: 404 when its engagement is not
    visible, 403 when visible but not theirs to edit (as for the team)."""
    item = _visible(ChecklistItem, item_id)
    engagement = engagement_page.visible_engagement(
        current_user, item.engagement_id, "Checklist item not found."
    )
    require(current_user, Action.COMPLETE_CHECKLIST, engagement)
    return item


@bp.get("/engagements/<int:engagement_id>/members/new")
@login_required
def new_member(engagement_id: int):
    """The add-a-member form on a page of its own (issue 29, ADR 0258)."""
    engagement = _editable_engagement(engagement_id)
    return _member_page(TeamMemberForm(prefix="member"), engagement=engagement)


@bp.post("/engagements/<int:engagement_id>/members")
@login_required
def add_member(engagement_id: int):
    """Add a team member; a refusal answers on the form's page with what was typed."""
    form = TeamMemberForm(prefix="member")
    if form.validate_on_submit():
        try:
            member = team_service.add_member(current_user, engagement_id, form.data_for_service())
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            flash(f"{member.name} added to the team.", "success")
            return _back(engagement_id, "#team")
    flash("The team member was not added; see the form.", "error")
    return _member_page(form, engagement=_editable_engagement(engagement_id), status=422)


@bp.route("/members/<int:member_id>/edit", methods=["GET", "POST"])
@login_required
def edit_member(member_id: int):
    """Edit a team member on a page of its own."""
    member = _visible_member(member_id)
    form = TeamMemberForm(obj=member, areas=", ".join(member.areas or []))
    if form.validate_on_submit():
        try:
            team_service.update_member(current_user, member_id, form.data_for_service())
        except (ValidationFailed, ChangeRequestRequired) as error:
            apply_errors(form, error)
        else:
            flash(f"{form.name.data} saved.", "success")
            return _back(member.engagement_id, "#team")
    status = refused_status(form) if form.is_submitted() else 200
    return _member_page(form, member=member, status=status)


def _member_page(form, *, member=None, engagement=None, status: int = 200):
    """The member form: editing `member`, or adding one to `engagement`."""
    page = render_template(
        "engagement_parts/member_form.html",
        form=form,
        member=member,
        engagement=engagement or member.engagement,
    )
    return page, status


@bp.post("/members/<int:member_id>/delete")
@login_required
def remove_member(member_id: int):
    """Remove a team member."""
    member = _visible_member(member_id)
    engagement_id, name = member.engagement_id, member.name
    if ActionForm().validate_on_submit():
        team_service.remove_member(current_user, member_id)
        flash(f"{name} removed from the team.", "success")
    else:
        flash("The form expired; try again.", "error")
    return _back(engagement_id, "#team")


def _visible(model, row_id: int):
    """A row whose engagement the user may see; NotFound otherwise (same answer either way)."""
    return engagement_page.visible_part(current_user, model, row_id)


def _visible_member(member_id: int) -> TeamMember:
    """The member if the user may edit its engagement (NotFound/Forbidden otherwise)."""
    member = _visible(TeamMember, member_id)
    engagement = engagement_page.visible_engagement(
        current_user, member.engagement_id, "TeamMember not found."
    )
    require(current_user, Action.EDIT, engagement)
    return member
