"""User and provider organisation schemas."""

from marshmallow import Schema, fields


class ProviderSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)


class MeSchema(Schema):
    id = fields.Integer(dump_only=True)
    email = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    role = fields.String(dump_only=True)
    timezone = fields.String(dump_only=True)
    provider = fields.Nested(ProviderSchema, dump_only=True, allow_none=True)
