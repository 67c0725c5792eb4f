"""Calendar feed schemas: the subscription URL (it holds the feed's secret)."""

from marshmallow import Schema, fields, validate


class CalendarFeedSchema(Schema):
    url = fields.String(
        required=True,
        metadata={"description": "The iCalendar feed address; anyone holding it can read it"},
    )
    scope = fields.String(
        required=True, metadata={"description": "mine (owned or followed) or all (managers)"}
    )
    created_at = fields.DateTime(required=True)
    rotated_at = fields.DateTime(allow_none=True)


class CalendarScopeSchema(Schema):
    scope = fields.String(
        required=True,
        validate=validate.OneOf(("mine", "all")),
        metadata={"description": "all is for admins and managers"},
    )
