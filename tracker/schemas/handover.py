"""Handover schemas: walk-away drills, access register entries, exit confirmations."""

from marshmallow import Schema, fields, validate

from tracker.schemas.common import NAME_MAX, TEXT_MAX, Id, Link, StrictInteger, Text, UserRefSchema

OUTCOMES = ("passed", "partly", "failed")
ACCESS_KINDS = (
    "code_repository",
    "cloud_account",
    "data_store",
    "chat",
    "ticketing",
    "secrets",
    "vpn",
    "other",
)
DISPOSITIONS = ("returned", "deleted")
LINK_MAX = 500


class DrillWriteSchema(Schema):
    area = Text(required=True, min_length=1, max_length=100)
    task = Text(required=True, min_length=1, max_length=NAME_MAX)
    # The internal engineer who did the task alone (the service also refuses someone
    # external or inactive, which no schema can state).
    performed_by_id = Id(required=True)
    observed_by_id = Id(allow_none=True, load_default=None)
    performed_on = fields.Date(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    minutes = StrictInteger(allow_none=True, validate=validate.Range(min=1, max=1440))
    missing = Text(max_length=TEXT_MAX, load_default="")
    evidence_url = Link(max_length=LINK_MAX, load_default="")


class CommentWriteSchema(Schema):
    body = Text(required=True, min_length=1, max_length=TEXT_MAX)


class CommentSchema(Schema):
    id = fields.Integer(required=True)
    author = fields.Nested(UserRefSchema, required=True)
    body = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class DrillSchema(Schema):
    id = fields.Integer(required=True)
    engagement_id = fields.Integer(required=True)
    shadow_id = fields.Integer(required=True)
    area = fields.String(required=True)
    task = fields.String(required=True)
    performed_by = fields.Nested(UserRefSchema, required=True)
    observed_by = fields.Nested(UserRefSchema, allow_none=True)
    recorded_by = fields.Nested(UserRefSchema, required=True)
    performed_on = fields.Date(required=True)
    outcome = fields.String(required=True)
    minutes = fields.Integer(allow_none=True)
    missing = fields.String(required=True)
    evidence_url = fields.String(required=True)
    follow_up_item_id = fields.Integer(allow_none=True)
    comments = fields.List(fields.Nested(CommentSchema), required=True)
    created_at = fields.DateTime(required=True)


class AccessWriteSchema(Schema):
    system = Text(required=True, min_length=1, max_length=NAME_MAX)
    kind = fields.String(required=True, validate=validate.OneOf(ACCESS_KINDS))
    account = Text(max_length=NAME_MAX, load_default="")
    granted_on = fields.Date(allow_none=True, load_default=None)


class RevokeSchema(Schema):
    note = Text(max_length=TEXT_MAX, load_default="")


class VerifySchema(Schema):
    how = Text(required=True, min_length=1, max_length=TEXT_MAX)


class AccessMemberSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    is_external = fields.Boolean(required=True)
    end_date = fields.Date(allow_none=True)


class AccessSchema(Schema):
    id = fields.Integer(required=True)
    engagement_id = fields.Integer(required=True)
    member = fields.Nested(AccessMemberSchema, required=True)
    system = fields.String(required=True)
    kind = fields.String(required=True)
    account = fields.String(required=True)
    granted_on = fields.Date(allow_none=True)
    granted_by = fields.Nested(UserRefSchema, allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    revoked_by = fields.Nested(UserRefSchema, allow_none=True)
    revoke_note = fields.String(required=True)
    verified_at = fields.DateTime(allow_none=True)
    verified_by = fields.Nested(UserRefSchema, allow_none=True)
    verify_how = fields.String(required=True)
    version = fields.Integer(required=True)


class ExitWriteSchema(Schema):
    ip_assignment_confirmed_on = fields.Date(allow_none=True, load_default=None)
    ip_document_url = Link(max_length=LINK_MAX, allow_none=True, load_default="")
    data_disposition = fields.String(
        allow_none=True, load_default=None, validate=validate.OneOf(DISPOSITIONS)
    )
    data_certificate_url = Link(max_length=LINK_MAX, allow_none=True, load_default="")
    artifacts_transferred_to = Text(max_length=LINK_MAX, allow_none=True, load_default="")


class ExitSchema(Schema):
    engagement_id = fields.Integer(required=True)
    ip_assignment_confirmed_on = fields.Date(allow_none=True)
    ip_document_url = fields.String(allow_none=True)
    ip_confirmed_by = fields.Nested(UserRefSchema, allow_none=True)
    data_disposition = fields.String(allow_none=True)
    data_confirmed_on = fields.Date(allow_none=True)
    data_certificate_url = fields.String(allow_none=True)
    data_confirmed_by = fields.Nested(UserRefSchema, allow_none=True)
    artifacts_transferred_to = fields.String(allow_none=True)
    artifacts_confirmed_by = fields.Nested(UserRefSchema, allow_none=True)
    version = fields.Integer(required=True)
