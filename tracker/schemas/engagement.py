"""Engagement schemas: input (create, update, list filters) and output per audience.

Two audiences see an engagement: the client side (admins, managers) sees
everything; providers and stakeholders never see cost figures or internal
notes. The route picks the field set with `engagement_schema(can_view_cost)`;
the schema itself never looks at the user.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from marshmallow import Schema, ValidationError, fields, validate

from tracker.models import Health, Structure
from tracker.schemas.common import (
    NAME_MAX,
    TEXT_MAX,
    Id,
    PageArgsSchema,
    PageMetaSchema,
    ProviderRefSchema,
    Text,
    UserRefSchema,
    object_dumper,
    result_row_dumper,
)

COST_FIELDS = ("monthly_cost", "currency", "internal_notes")
# The largest Numeric(12, 2) value. Compared as a Decimal: the float 9999999999.99 is
# really 9999999999.98999…, so comparing against it refused the documented maximum.
MAX_MONEY = Decimal("9999999999.99")
# The one sort vocabulary of every engagement list (services/read_model/engagement_list.py):
# the API, the dashboard, the engagements page and the CSV exports. State sorts in lifecycle order,
# health worst first.
SORT_KEYS = (
    "title", "state", "health", "provider", "owner", "period_end", "trial_end",
    "created_at", "updated_at", "id",
)  # fmt: skip
SEARCH_MAX = 200
STATES_MAX = 40


def _money_in_range(value) -> None:
    """0 to MAX_MONEY (a validator function: Range on a Decimal documents its bounds as text)."""
    if not 0 <= value <= MAX_MONEY:
        raise ValidationError(f"Must be between 0 and {MAX_MONEY}.")


# Rules that depend on other rows or on the engagement's state, which no schema keyword can
# state: said in words, each refused with a 422 naming the field.
PROVIDER_RULE = "An existing provider organisation"
PERIOD_DATE_RULE = (
    "Set by the workflow when the period starts; afterwards it can be moved, never set or "
    "cleared. Each start stays on or before its end, and discovery_start on or before "
    "trial_start"
)


class EngagementWriteSchema(Schema):
    """Fields a manager sets when creating an engagement."""

    title = Text(required=True, min_length=1, max_length=NAME_MAX)
    provider_id = Id(required=True, metadata={"description": PROVIDER_RULE})
    structure = fields.String(required=True, validate=validate.OneOf([s.value for s in Structure]))
    owner_id = Id(metadata={"description": "A manager or an admin"})
    technical_contact_id = Id(
        allow_none=True, metadata={"description": "An internal user (not a provider's)"}
    )
    problem_statement = Text(max_length=TEXT_MAX)
    success_criteria = Text(max_length=TEXT_MAX)
    internal_notes = Text(max_length=TEXT_MAX)
    discovery_start = fields.Date(metadata={"description": "On or before trial_start"})
    monthly_cost = fields.Decimal(
        places=2,
        validate=_money_in_range,
        metadata={"minimum": 0, "maximum": float(MAX_MONEY), "example": 30000},
    )
    currency = fields.String(validate=validate.Regexp(r"^[A-Z]{3}$"), metadata={"example": "EUR"})
    workflow_name = Text(
        min_length=1,
        max_length=NAME_MAX,
        metadata={
            "description": "The workflow definition to run on, at its newest version: a `name` "
            "from GET /api/v1/workflows. Default: the deployment's default workflow. An "
            "unknown name, or one whose definition file is malformed, is a 422 naming "
            "this field.",
            "example": "staff_augmentation",
        },
    )


class EngagementUpdateSchema(EngagementWriteSchema):
    """PATCH: any subset of the create fields (the workflow is chosen once, at create)."""

    class Meta:
        exclude = ("workflow_name",)

    title = Text(min_length=1, max_length=NAME_MAX)
    provider_id = Id(metadata={"description": PROVIDER_RULE})
    structure = fields.String(validate=validate.OneOf([s.value for s in Structure]))
    # Once the workflow has set them: moving one moves its timers and reminders.
    trial_start = fields.Date(metadata={"description": PERIOD_DATE_RULE})
    trial_end = fields.Date(metadata={"description": PERIOD_DATE_RULE})
    period_start = fields.Date(metadata={"description": PERIOD_DATE_RULE})
    period_end = fields.Date(metadata={"description": PERIOD_DATE_RULE})


class EngagementQuerySchema(PageArgsSchema):
    """Filters, text search and sort order for GET /engagements."""

    state = Text(max_length=STATES_MAX, min_length=1)
    health = fields.String(validate=validate.OneOf([h.value for h in Health]))
    provider_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    owner_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    q = Text(
        max_length=SEARCH_MAX,
        metadata={"description": "Words in the title, problem statement, provider or owner name"},
    )
    sort = fields.String(
        load_default="-updated_at",
        validate=validate.OneOf([*SORT_KEYS, *(f"-{k}" for k in SORT_KEYS)]),
        metadata={
            "description": "A sort key; prefix '-' for descending. State sorts in lifecycle "
            "order, health worst first (red, amber, green)."
        },
    )


class HealthReasonSchema(Schema):
    """One reason for the derived health (tracker/services/judgments/health.py names the codes)."""

    code = fields.String(
        metadata={"description": "Stable, e.g. milestone_overdue, checklist_overdue"}
    )
    level = fields.String(required=True, validate=validate.OneOf([h.value for h in Health]))
    message = fields.String(required=True)
    anchor = fields.String(metadata={"description": "The item's id on the engagement page"})


class EngagementSummarySchema(Schema):
    """One row of the engagement list: health is the stored effective value it filters on."""

    id = fields.Integer(required=True)
    title = fields.String(required=True)
    state = fields.String(required=True)
    health = fields.String(attribute="effective_health", required=True)
    structure = fields.String(required=True)
    provider = fields.Nested(ProviderRefSchema, required=True)
    owner = fields.Nested(UserRefSchema, required=True)
    trial_start = fields.Date(allow_none=True)
    trial_end = fields.Date(allow_none=True)
    period_end = fields.Date(allow_none=True)
    updated_at = fields.DateTime(required=True)
    version = fields.Integer(required=True)
    readiness_score = fields.Integer(
        allow_none=True, metadata={"description": "Knowledge-retention readiness, 0-100"}
    )
    readiness_gaps = fields.Integer(
        allow_none=True, metadata={"description": "How many readiness gaps remain"}
    )
    monthly_cost = fields.Float(metadata={"description": "Client side only"})
    currency = fields.String(metadata={"description": "Client side only"})


class EngagementSchema(EngagementSummarySchema):
    """One engagement in full (cost fields and internal notes for the client side only)."""

    health = fields.Function(lambda e: e.health_at(), required=True)
    technical_contact = fields.Nested(UserRefSchema, allow_none=True)
    problem_statement = fields.String(required=True)
    success_criteria = fields.String(required=True)
    internal_notes = fields.String(metadata={"description": "Client side only"})
    discovery_start = fields.Date(allow_none=True)
    period_start = fields.Date(allow_none=True)
    current_period = fields.Integer(required=True)
    outcome = fields.String(allow_none=True)
    review_summary = fields.String(required=True)
    closed_at = fields.DateTime(allow_none=True)
    derived_health = fields.String(
        attribute="health",
        required=True,
        metadata={"description": "What the data says, whatever an override shows"},
    )
    health_reasons = fields.List(
        fields.Nested(HealthReasonSchema),
        required=True,
        metadata={"description": "Why the data says so: one entry per rule that applies"},
    )
    health_override = fields.String(allow_none=True)
    health_override_note = fields.String(allow_none=True)
    health_override_until = fields.DateTime(allow_none=True)
    health_override_at = fields.DateTime(allow_none=True)
    health_override_by = fields.Nested(UserRefSchema, allow_none=True)
    workflow_name = fields.String(required=True)
    workflow_version = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)


class EngagementPageSchema(Schema):
    items = fields.List(fields.Nested(EngagementSummarySchema), required=True)
    meta = fields.Nested(PageMetaSchema, required=True)


@lru_cache(maxsize=8)
def engagement_schema(can_view_cost: bool, *, many: bool = False, summary: bool = False) -> Schema:
    """The field set for this audience (cost figures only when `can_view_cost`).

    Built once per combination: a schema instance keeps no state between dumps, and
    building one took ~0.5 ms, a tenth of an API detail request (perf, issue 9).
    """
    cls = EngagementSummarySchema if summary else EngagementSchema
    exclude = () if can_view_cost else tuple(f for f in COST_FIELDS if f in cls._declared_fields)
    return cls(many=many, exclude=exclude)


@lru_cache(maxsize=2)
def detail_dumper(can_view_cost: bool):
    """One engagement (an ORM row) dumped as `engagement_schema(can_view_cost)` dumps it,
    plain fields without marshmallow's per-field dispatch (`object_dumper`, ADR 0230)."""
    return object_dumper(engagement_schema(can_view_cost))


@lru_cache(maxsize=8)
def summary_row_dumper(can_view_cost: bool, columns: tuple[str, ...]):
    """One list row (a result row of these `columns`) dumped as `engagement_schema(
    can_view_cost, summary=True)` dumps its values, without marshmallow's per-field work
    and without a dict per row first (`result_row_dumper`)."""
    return result_row_dumper(engagement_schema(can_view_cost, summary=True), columns)
