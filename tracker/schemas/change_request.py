"""Change request schemas (issue 31): raising, reading, deciding, and drift."""

from marshmallow import Schema, fields, validate

from tracker.schemas.common import Id, StrictInteger, Text, UserRefSchema

# Stated here for the OpenAPI document; the service checks the same (and more).
TARGETS = ("milestone", "milestone_target", "engagement", "team_member")
FIELDS = (
    "due_date",
    "success_criteria",
    "add",
    "remove",
    "target",
    "monthly_cost",
    "period_end",
    "allocation",
    "end_date",
)
STATES = ("proposed", "approved", "rejected", "withdrawn")
TEXT_MAX = 5000
MONEY_MAX = 9_999_999_999.99
DAYS_MAX = 3650


class ChangeWriteSchema(Schema):
    target = fields.String(required=True, validate=validate.OneOf(TARGETS))
    id = Id(
        allow_none=True,
        metadata={"description": "The milestone, target or team member; none for the engagement"},
    )
    field = fields.String(required=True, validate=validate.OneOf(FIELDS))
    to = fields.Raw(
        allow_none=True,
        metadata={
            "description": "The new value: a date (YYYY-MM-DD), a number, text, "
            "{title, due_date, success_criteria} to add a milestone, null to remove one"
        },
    )


class ChangeRequestWriteSchema(Schema):
    changes = fields.List(
        fields.Nested(ChangeWriteSchema), required=True, validate=validate.Length(min=1, max=20)
    )
    why = Text(required=True, min_length=1, max_length=TEXT_MAX)
    value = Text(max_length=TEXT_MAX, metadata={"description": "What the client gains"})
    cost_delta_monthly = fields.Float(
        allow_nan=False, validate=validate.Range(min=-MONEY_MAX, max=MONEY_MAX)
    )
    cost_delta_total = fields.Float(
        allow_nan=False,
        validate=validate.Range(min=-MONEY_MAX, max=MONEY_MAX),
        metadata={"description": "Defaults to the monthly delta over the months left"},
    )
    schedule_delta_days = StrictInteger(
        validate=validate.Range(min=-DAYS_MAX, max=DAYS_MAX),
        metadata={"description": "Defaults to the largest move later of a due date or period end"},
    )
    evidence_url = fields.Url(
        schemes={"http", "https"}, allow_none=True, validate=validate.Length(max=1000)
    )


class RejectSchema(Schema):
    reason = Text(required=True, min_length=1, max_length=TEXT_MAX)


class ChangeSchema(Schema):
    target = fields.String(required=True)
    id = fields.Integer(allow_none=True)
    field = fields.String(required=True)
    subject = fields.String(required=True)
    from_ = fields.Raw(data_key="from", allow_none=True, attribute="from")
    to = fields.Raw(allow_none=True)


class ChangeRequestSchema(Schema):
    id = fields.Integer(required=True)
    engagement_id = fields.Integer(required=True)
    state = fields.String(required=True, validate=validate.OneOf(STATES))
    raised_in_state = fields.String(required=True)
    raised_by = fields.Nested(UserRefSchema, required=True)
    changes = fields.List(fields.Nested(ChangeSchema), required=True)
    why = fields.String(required=True)
    value = fields.String(required=True)
    cost_delta_monthly = fields.Float(
        allow_none=True, metadata={"description": "Null for those who may not see cost"}
    )
    cost_delta_total = fields.Float(
        allow_none=True, metadata={"description": "Null for those who may not see cost"}
    )
    schedule_delta_days = fields.Integer(required=True)
    evidence_url = fields.String(allow_none=True)
    decided_by = fields.Nested(UserRefSchema, allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    needs_admin = fields.Boolean(required=True)


class DriftRequestSchema(Schema):
    id = fields.Integer(required=True)
    why = fields.String(required=True)
    decided_at = fields.DateTime(required=True)
    schedule_delta_days = fields.Integer(required=True)
    cost_delta_monthly = fields.Float(
        allow_none=True, metadata={"description": "Null for those who may not see cost"}
    )
    cost_delta_total = fields.Float(
        allow_none=True, metadata={"description": "Null for those who may not see cost"}
    )


class DriftSchema(Schema):
    slip_days = fields.Integer(required=True)
    cost_added = fields.Float(
        allow_none=True, metadata={"description": "Null for those who may not see cost"}
    )
    cost_added_monthly = fields.Float(
        allow_none=True, metadata={"description": "Null for those who may not see cost"}
    )
    cost_percent = fields.Float(allow_none=True)
    since = fields.Date(allow_none=True)
    requests = fields.List(fields.Nested(DriftRequestSchema), required=True)
