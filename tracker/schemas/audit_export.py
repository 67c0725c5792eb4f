"""Query arguments of the deployment's audit export (GET /audit/export.csv and .jsonl)."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from tracker.schemas.common import MAX_ID, Text

_ID = {"validate": validate.Range(min=1, max=MAX_ID)}


class AuditExportQuerySchema(Schema):
    """Every filter is optional and they combine with AND; `kind` may repeat (any of)."""

    since = fields.Date(metadata={"description": "First day (UTC, inclusive), YYYY-MM-DD"})
    until = fields.Date(metadata={"description": "Last day (UTC, inclusive), YYYY-MM-DD"})
    actor_id = fields.Integer(metadata={"description": "Events this user did"}, **_ID)
    engagement_id = fields.Integer(metadata={"description": "Events of this engagement"}, **_ID)
    provider_id = fields.Integer(
        metadata={
            "description": "Events of this provider organisation's engagements, and its "
            "people's own events that belong to no engagement (sign-ins, tokens)"
        },
        **_ID,
    )
    kind = fields.List(
        Text(min_length=1, max_length=40),
        metadata={"description": "Kinds of event, e.g. signed_in, transition (any of)"},
    )

    @validates_schema
    def _range(self, data, **kwargs):
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise ValidationError("The end date is before the start date.", "until")
