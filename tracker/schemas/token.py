"""Personal API token schemas: the secret appears once, in the create response only."""

from marshmallow import Schema, fields

from tracker.schemas.common import Text


class TokenWriteSchema(Schema):
    name = Text(required=True, min_length=1, max_length=100, metadata={"example": "ci-script"})


class TokenSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    prefix = fields.String(
        required=True, metadata={"description": "First characters, to tell tokens apart"}
    )
    created_at = fields.DateTime(required=True)
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    is_active = fields.Boolean(required=True)


class NewTokenSchema(TokenSchema):
    secret = fields.String(
        required=True,
        metadata={"description": "Send as `Authorization: Bearer <secret>`; shown once"},
    )
