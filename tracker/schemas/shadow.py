"""Shadow assignment schemas: assigning, sessions, confidence, sign-off."""

from marshmallow import Schema, fields, validate

from tracker.schemas.common import NAME_MAX, TEXT_MAX, Id, StrictInteger, Text, UserRefSchema


def areas_field(**kwargs) -> fields.List:
    """The member's areas this assignment covers (a fresh field per schema)."""
    item = Text(min_length=1, max_length=100)
    return fields.List(item, validate=validate.Length(min=1, max=50), **kwargs)


class ShadowWriteSchema(Schema):
    member_id = Id(required=True)
    shadow_id = Id(required=True)
    areas = areas_field(required=True)
    start_date = fields.Date(allow_none=True)
    end_date = fields.Date(allow_none=True)


class ShadowUpdateSchema(Schema):
    areas = areas_field()
    start_date = fields.Date(allow_none=True)
    end_date = fields.Date(allow_none=True)


class SessionWriteSchema(Schema):
    held_on = fields.Date(required=True)
    duration_minutes = StrictInteger(required=True, validate=validate.Range(min=1, max=1440))
    topic = Text(required=True, min_length=1, max_length=NAME_MAX)
    notes = Text(max_length=TEXT_MAX, load_default="")


class ConfidenceSchema(Schema):
    confidence = StrictInteger(required=True, validate=validate.Range(min=1, max=5))


class SessionSchema(Schema):
    id = fields.Integer(required=True)
    held_on = fields.Date(required=True)
    duration_minutes = fields.Integer(required=True)
    topic = fields.String(required=True)
    notes = fields.String(required=True)


class MemberRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class ShadowSchema(Schema):
    id = fields.Integer(required=True)
    engagement_id = fields.Integer(required=True)
    member = fields.Nested(MemberRefSchema, required=True)
    shadow = fields.Nested(UserRefSchema, required=True)
    areas = fields.List(fields.String(), required=True)
    start_date = fields.Date(allow_none=True)
    end_date = fields.Date(allow_none=True)
    confidence = fields.Integer(allow_none=True)
    is_signed_off = fields.Boolean(required=True)
    signed_off_by = fields.Nested(UserRefSchema, allow_none=True)
    signed_off_at = fields.DateTime(allow_none=True)
    sessions = fields.List(fields.Nested(SessionSchema), required=True)
