"""WTForms for the pages: engagements, team members, milestone updates, health, transitions.

Forms check shape only (required, lengths, ranges); services check everything
that needs the database and raise ValidationFailed, whose field errors the
routes copy back onto the form so they show next to the field.
"""

from __future__ import annotations

import functools

from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import (
    URL,
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from tracker.models import (
    PROGRESS_MILESTONE_STATUSES,
    ChecklistKind,
    Health,
    MemberRole,
    MilestoneStatus,
    Structure,
    label,
)
from tracker.schemas.engagement import MAX_MONEY


def _choices(enum) -> list[SelectChoice]:
    return [SelectChoice(member.value, label(member.value)) for member in enum]


def _text(value) -> str:
    """A field's data as text ("" for none): an id the form was filled with from an object."""
    return "" if value is None else str(value)


def _optional_int(value):
    """'' or None -> None (a select's "none" entry), otherwise an int."""
    if value in (None, "", "None"):
        return None
    return int(value)


class EngagementForm(FlaskForm):
    """Create or edit an engagement (a manager's form)."""

    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    provider_id = SelectField("Provider organisation", coerce=_optional_int)
    structure = SelectField("Structure", choices=_choices(Structure))
    # person pickers (issue 29): "Name <email>" the route resolves to one allowed person;
    # text even when filled from the engagement's id (an edit posted without the field)
    owner_id = StringField("Owner", validators=[Length(max=320)], filters=[_text])
    technical_contact_id = StringField(
        "Internal technical contact", validators=[Length(max=320)], filters=[_text]
    )
    problem_statement = TextAreaField("Problem statement", validators=[Length(max=10000)])
    success_criteria = TextAreaField("Success criteria", validators=[Length(max=10000)])
    internal_notes = TextAreaField("Internal notes", validators=[Length(max=10000)])
    discovery_start = DateField("Discovery start", validators=[Optional()])
    # Editable once the workflow set them (blank leaves them as they are).
    trial_start = DateField("Trial start", validators=[Optional()])
    trial_end = DateField("Trial end", validators=[Optional()])
    period_start = DateField("Period start", validators=[Optional()])
    period_end = DateField("Period end", validators=[Optional()])
    monthly_cost = DecimalField(
        "Monthly cost", places=2, validators=[InputRequired(), NumberRange(min=0, max=MAX_MONEY)]
    )
    currency = StringField("Currency", default="EUR", validators=[DataRequired(), Length(3, 3)])
    version = HiddenField()

    def set_choices(self, providers) -> None:
        self.provider_id.choices = [SelectChoice("", "Choose a provider…")] + [
            SelectChoice(p.id, p.name) for p in providers
        ]

    def validate_provider_id(self, field) -> None:
        if field.data is None:
            raise ValidationError("Choose a provider organisation.")

    def data_for_service(self) -> dict:
        """The fields the engagement service accepts, cleaned; the two people as typed
        (the route puts the ids they name in their place)."""
        return {
            "title": self.title.data.strip(),
            "provider_id": self.provider_id.data,
            "structure": self.structure.data,
            "owner_id": self.owner_id.data,
            "technical_contact_id": self.technical_contact_id.data,
            "problem_statement": self.problem_statement.data or "",
            "success_criteria": self.success_criteria.data or "",
            "internal_notes": self.internal_notes.data or "",
            "discovery_start": self.discovery_start.data,
            "monthly_cost": self.monthly_cost.data,
            "currency": self.currency.data.strip().upper(),
        } | {
            key: getattr(self, key).data
            for key in ("trial_start", "trial_end", "period_start", "period_end")
            if getattr(self, key).data is not None
        }


class NewEngagementForm(EngagementForm):
    """Create an engagement: the engagement form plus the workflow it runs on."""

    workflow_name = RadioField("Workflow", validators=[DataRequired("Choose a workflow.")])

    def set_workflows(self, workflows) -> None:
        """The shipped workflows (services/workflow_registry.workflow_choices)."""
        self.workflow_name.choices = [SelectChoice(w.name, w.title) for w in workflows]
        if self.workflow_name.data is None:
            default = next((w.name for w in workflows if w.default), None)
            self.workflow_name.data = default

    def data_for_service(self) -> dict:
        return super().data_for_service() | {"workflow_name": self.workflow_name.data}


class WorkflowMigrationForm(FlaskForm):
    """Admin: the target version of one workflow and an optional state map (old=new)."""

    to_version = SelectField("Target version", coerce=int)
    state_map = StringField(
        "State map",
        validators=[Optional(), Length(max=2000)],
        description="For states the target version no longer has: old=new, comma-separated "
        "(what --map takes).",
    )


class TeamMemberForm(FlaskForm):
    """Add or edit a team member."""

    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("Email", validators=[Optional(), Email(), Length(max=254)])
    role = SelectField("Role", choices=_choices(MemberRole))
    is_external = BooleanField("External (provider) engineer", default=True)
    allocation = IntegerField(
        "Allocation (%)", default=100, validators=[InputRequired(), NumberRange(1, 100)]
    )
    areas = StringField("Areas they own (comma-separated)", validators=[Length(max=1000)])
    start_date = DateField("Start", validators=[Optional()])
    end_date = DateField("End", validators=[Optional()])
    version = HiddenField()

    def data_for_service(self) -> dict:
        areas = [a.strip() for a in (self.areas.data or "").split(",") if a.strip()]
        return {
            "name": self.name.data.strip(),
            "email": (self.email.data or "").strip() or None,
            "role": self.role.data,
            "is_external": bool(self.is_external.data),
            "allocation": self.allocation.data,
            "areas": areas,
            "start_date": self.start_date.data,
            "end_date": self.end_date.data,
        }


class MilestoneUpdateForm(FlaskForm):
    """The provider's weekly status update: status, note, one evidence link.

    The service decides which statuses the user may set (met and missed are the
    client side's verdict) and its message lands on the field; a provider is only
    offered the progress statuses."""

    status = SelectField("Status", choices=_choices(MilestoneStatus), validate_choice=False)
    note = TextAreaField("Note", validators=[Length(max=5000)])
    evidence = URLField(
        "Evidence link",
        validators=[Optional(), URL(message="Enter a full link (https://…)."), Length(max=2000)],
    )
    # A verdict against the measured evidence needs it (the service says so, on this field).
    reason = TextAreaField(
        "Reason for a verdict against the evidence", validators=[Length(max=5000)]
    )
    version = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not getattr(current_user, "is_client_side", False):
            self.status.choices = _choices(PROGRESS_MILESTONE_STATUSES)


class MilestoneForm(FlaskForm):
    """A manager adds a milestone with measurable success criteria."""

    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    due_date = DateField("Due", validators=[DataRequired(message="Give a due date.")])
    success_criteria = TextAreaField(
        "Measurable success criteria", validators=[DataRequired(), Length(max=5000)]
    )

    def data_for_service(self) -> dict:
        return {
            "title": self.title.data.strip(),
            "due_date": self.due_date.data,
            "success_criteria": self.success_criteria.data.strip(),
        }


class MilestoneEditForm(MilestoneForm):
    """A manager changes a milestone's title, due date or criteria (on the engagement page)."""

    version = HiddenField()


class ChecklistNoteForm(FlaskForm):
    """Complete or reopen a checklist item, with an optional note."""

    note = StringField("Note", validators=[Length(max=2000)])
    status = SelectField(
        "Status",
        choices=[SelectChoice("done", "Done"), SelectChoice("not_applicable", "Not applicable")],
        default="done",
    )


class ChecklistItemForm(FlaskForm):
    """A manager adds an item to one of the engagement's checklists."""

    kind = SelectField("Checklist", choices=_choices(ChecklistKind))
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    # a person picker (issue 29): "Name <email>" the route resolves to an id, or empty
    owner_id = StringField("Owner", validators=[Length(max=320)])
    due_date = DateField("Due", validators=[Optional()])
    note = TextAreaField("Note", validators=[Length(max=5000)])
    evidence = URLField(
        "Evidence link",
        validators=[Optional(), URL(message="Enter a full link (https://…)."), Length(max=500)],
    )

    def data_for_service(self) -> dict:
        data = {
            "title": self.title.data.strip(),
            "owner_id": self.owner_id.data,
            "due_date": self.due_date.data,
            "note": (self.note.data or "").strip(),
            "evidence": (self.evidence.data or "").strip(),
        }
        if self.kind is not None:
            data["kind"] = self.kind.data
        return data


class ChecklistItemEditForm(ChecklistItemForm):
    """A manager changes an item's title, owner, due date, note or evidence link."""

    kind = None  # an item stays on its checklist
    version = HiddenField()


class HealthOverrideForm(FlaskForm):
    """A manager's override of the derived health, with a note and an expiry."""

    health = SelectField("Health", choices=_choices(Health))
    note = TextAreaField("Why", validators=[DataRequired(), Length(max=2000)])
    until = DateField("Until", validators=[DataRequired()])


class ActionForm(FlaskForm):
    """A bare POST with CSRF (delete, reopen …)."""

    version = HiddenField()


def transition_form_class(option):
    """A form class with one field per input the transition needs (from its InputSpecs)."""
    return _transition_form_class(tuple(option.inputs))


@functools.lru_cache(maxsize=256)
def _transition_form_class(inputs: tuple):
    """Built once per set of inputs (InputSpecs are frozen, so equal specs share a class):
    the engagement page offers several transitions on every view (ADR 0258)."""

    class TransitionForm(FlaskForm):
        version = HiddenField()
        override_reason = TextAreaField(
            "Override reason (admins only)", validators=[Optional(), Length(max=2000)]
        )

    for spec in inputs:
        setattr(TransitionForm, spec.name, _input_field(spec))
    return TransitionForm


def _input_field(spec):
    required = [InputRequired()] if spec.required else [Optional()]
    if spec.type == "int":
        low = spec.min if spec.min is not None else -(2**31)
        high = spec.max if spec.max is not None else 2**31
        return IntegerField(spec.label, validators=required + [NumberRange(low, high)])
    if spec.type == "date":
        return DateField(spec.label, validators=required)
    if spec.type == "choice":
        return SelectField(spec.label, choices=[SelectChoice(c, label(c)) for c in spec.choices])
    text_required = [DataRequired()] if spec.required else [Optional()]
    length = [Length(max=spec.max_length)] if spec.max_length else []
    return TextAreaField(spec.label, validators=text_required + length, description=spec.help)


def transition_inputs(form, option) -> dict:
    """The typed values of the transition's inputs, for services.workflow.transitions.fire."""
    return {spec.name: getattr(form, spec.name).data for spec in option.inputs}
