"""Team member schemas: what a manager sends, what everyone who may see the engagement gets."""

from marshmallow import Schema, fields, validate

from tracker.models import MemberRole
from tracker.schemas.common import NAME_MAX, Id, StrictBoolean, StrictInteger, Text

ROLES = [r.value for r in MemberRole]


class TeamMemberWriteSchema(Schema):
    """POST: a new member (name and role required)."""

    user_id = Id(allow_none=True)
    name = Text(required=True, min_length=1, max_length=NAME_MAX)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    is_external = StrictBoolean()
    allocation = StrictInteger(
        validate=validate.Range(min=1, max=100), metadata={"description": "Percent of full time"}
    )
    areas = fields.List(
        Text(min_length=1, max_length=100),
        validate=validate.Length(max=50),
        metadata={"description": "Systems or components this member owns"},
    )
    start_date = fields.Date(allow_none=True)
    end_date = fields.Date(allow_none=True)


class TeamMemberUpdateSchema(TeamMemberWriteSchema):
    """PATCH: any subset of the fields."""

    name = Text(min_length=1, max_length=NAME_MAX)
    role = fields.String(validate=validate.OneOf(ROLES))


class TeamMemberSchema(Schema):
    id = fields.Integer(required=True)
    engagement_id = fields.Integer(required=True)
    user_id = fields.Integer(allow_none=True)
    name = fields.String(required=True)
    email = fields.String(allow_none=True)
    role = fields.String(required=True)
    is_external = fields.Boolean(required=True)
    allocation = fields.Integer(required=True)
    areas = fields.List(fields.String(), required=True)
    start_date = fields.Date(allow_none=True)
    end_date = fields.Date(allow_none=True)
