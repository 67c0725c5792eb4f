"""Digest subscription schemas: what a client may send and what it gets back."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from tracker.schemas.common import Id, StrictBoolean, StrictInteger, Text

SCOPES = ("all", "provider", "chosen")
FREQUENCIES = ("daily", "weekly")


class SubscriptionSchema(Schema):
    """A subscription as the API shows it."""

    id = fields.Integer(dump_only=True)
    user_id = fields.Integer(dump_only=True)
    scope = fields.String(dump_only=True)
    provider_id = fields.Integer(dump_only=True, allow_none=True)
    engagement_ids = fields.Method("_engagement_ids", dump_only=True)
    frequency = fields.String(dump_only=True)
    weekday = fields.Integer(dump_only=True, allow_none=True)
    send_time = fields.Time(dump_only=True, format="%H:%M")
    timezone = fields.String(dump_only=True)
    is_active = fields.Boolean(dump_only=True)
    next_due_at = fields.DateTime(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)

    def _engagement_ids(self, subscription) -> list[int]:
        return sorted(e.id for e in subscription.engagements)


class SubscriptionWriteSchema(Schema):
    """Create: everything but the scope has a default; user_id is for admins and managers."""

    user_id = Id(metadata={"description": "Subscribe a stakeholder (admins and managers)"})
    scope = fields.String(load_default="all", validate=validate.OneOf(SCOPES))
    provider_id = Id(allow_none=True, metadata={"description": "Required when scope=provider"})
    engagement_ids = fields.List(
        Id(), validate=validate.Length(max=500), metadata={"description": "When scope=chosen"}
    )
    frequency = fields.String(load_default="weekly", validate=validate.OneOf(FREQUENCIES))
    weekday = StrictInteger(
        allow_none=True,
        validate=validate.Range(min=0, max=6),
        metadata={"description": "0 = Monday … 6 = Sunday; weekly digests"},
    )
    send_time = fields.Time(metadata={"description": "Local send time, e.g. 08:00"})
    timezone = Text(max_length=64, metadata={"description": "IANA zone, e.g. Europe/Helsinki"})
    is_active = StrictBoolean()


class SubscriptionUpdateSchema(SubscriptionWriteSchema):
    """Change: any subset of the fields; the subscriber cannot change."""

    class Meta:
        exclude = ("user_id",)

    scope = fields.String(validate=validate.OneOf(SCOPES))
    frequency = fields.String(validate=validate.OneOf(FREQUENCIES))


class SubscriptionQuerySchema(Schema):
    """?user_id= (admins and managers) narrows the list to one subscriber."""

    user_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
