"""User and provider organisation schemas."""

from zoneinfo import available_timezones

from marshmallow import Schema, fields, validate

from tracker.schemas.common import Id, Text

# What the services check, stated for the OpenAPI document (the checks stay there):
# an email has an "@"; a name is not only spaces; a time zone is an IANA key.
EMAIL_PATTERN = "^[^\\x00]*@[^\\x00]*$"
NOT_BLANK = "^[^\\x00]*[^\\s\\x00][^\\x00]*$"
TIMEZONES = sorted(available_timezones())


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

ROLES = ("admin", "manager", "provider", "stakeholder", "auditor")
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


def _timezone(*, blank_is_utc: bool = False):
    """An IANA key; creating a user, "" stands for UTC (the service's default)."""
    zones = ["", *TIMEZONES] if blank_is_utc else TIMEZONES
    return Text(
        max_length=64,
        metadata={"enum": zones, "example": "Europe/Berlin", "description": "An IANA key"},
    )


class UserCreateSchema(Schema):
    """A new user. The document adds (tracker/api: document_configured_rules) the role and
    organisation pairing as `oneOf` and the password's configured minimum length."""

    email = Text(
        required=True,
        min_length=3,
        max_length=254,
        pattern=EMAIL_PATTERN,
        metadata={"description": "Unique (case-insensitive); a duplicate is a 422"},
    )
    name = Text(required=True, min_length=1, max_length=200, pattern=NOT_BLANK)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    provider_id = Id(
        allow_none=True,
        metadata={
            "description": "Required for provider users and refused for the others; an "
            "existing, active provider organisation"
        },
    )
    timezone = _timezone(blank_is_utc=True)
    password = Text(
        load_only=True,
        max_length=200,
        metadata={
            "description": 'Omit (or send "") to email a single-use invitation link '
            "instead. Refused: a common password, one short sequence repeated, or one "
            "containing the email or the name"
        },
    )


class UserUpdateSchema(Schema):
    name = Text(min_length=1, max_length=200, pattern=NOT_BLANK)
    role = fields.String(validate=validate.OneOf(ROLES))
    provider_id = Id(
        allow_none=True,
        metadata={"description": "Provider users only: an existing, active organisation"},
    )
    timezone = _timezone()


class DeactivateSchema(Schema):
    reason = Text(max_length=500, allow_none=True)


class ProviderWriteSchema(Schema):
    name = Text(required=True, min_length=1, max_length=200)
    website = Text(max_length=300, allow_none=True)


class ProviderUpdateSchema(Schema):
    name = Text(min_length=1, max_length=200)
    website = Text(max_length=300, allow_none=True)
