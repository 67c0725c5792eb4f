"""User and provider organisation schemas."""

from marshmallow import Schema, fields, validate

from tracker.schemas.common import Id, Text


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


# --- Administration (admins only): /api/v1/users and /api/v1/providers ---------------

ROLES = ("admin", "manager", "provider", "stakeholder")
STATUSES = ("active", "invited", "deactivated", "organisation_deactivated")


class AdminProviderSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    website = fields.String(allow_none=True)
    is_active = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)


class AdminUserSchema(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": list(ROLES)})
    timezone = fields.String(required=True)
    provider = fields.Nested(AdminProviderSchema, allow_none=True)
    is_active = fields.Boolean(required=True)
    status = fields.String(
        required=True,
        metadata={
            "enum": list(STATUSES),
            "description": "invited: no password set yet and never signed in",
        },
    )
    last_login_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime(required=True)


class UserCreateSchema(Schema):
    email = Text(required=True, min_length=3, max_length=254)
    name = Text(required=True, min_length=1, max_length=200)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    provider_id = Id(allow_none=True, metadata={"description": "Provider users only"})
    timezone = Text(max_length=64, metadata={"example": "Europe/Berlin"})
    password = Text(
        load_only=True,
        max_length=200,
        metadata={"description": "Omit to email a single-use invitation link instead"},
    )


class UserUpdateSchema(Schema):
    name = Text(min_length=1, max_length=200)
    role = fields.String(validate=validate.OneOf(ROLES))
    provider_id = Id(allow_none=True)
    timezone = Text(max_length=64)


class DeactivateSchema(Schema):
    reason = Text(max_length=500, allow_none=True)


class ProviderWriteSchema(Schema):
    name = Text(required=True, min_length=1, max_length=200)
    website = Text(max_length=300, allow_none=True)


class ProviderUpdateSchema(Schema):
    name = Text(min_length=1, max_length=200)
    website = Text(max_length=300, allow_none=True)
