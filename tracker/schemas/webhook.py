"""Webhook endpoint and delivery schemas; the signing secret appears only when it is made."""

from marshmallow import Schema, fields, validate

from tracker.schemas.common import StrictBoolean, Text

EVENT_TYPES = (
    "engagement.created",
    "engagement.transitioned",
    "engagement.health_changed",
    "engagement.closed",
    "milestone.status_changed",
    "milestone.verdict_given",
    "checklist_item.completed",
    "checklist_item.reopened",
    "adr.status_changed",
    "shadow.signed_off",
    "drill.recorded",
    "access.revoked",
)
URL_MAX = 2000


def _events(**kwargs):
    return fields.List(
        fields.String(validate=validate.OneOf(EVENT_TYPES)),
        validate=validate.Length(min=1, max=len(EVENT_TYPES)),
        metadata={"description": "Event types to receive"},
        **kwargs,
    )


class WebhookWriteSchema(Schema):
    url = Text(
        required=True, min_length=8, max_length=URL_MAX, metadata={"example": "https://x.example/h"}
    )
    events = _events(required=True)
    description = Text(max_length=500)
    is_enabled = StrictBoolean()


class WebhookUpdateSchema(WebhookWriteSchema):
    url = Text(min_length=8, max_length=URL_MAX)
    events = _events()


class WebhookSchema(Schema):
    id = fields.Integer(required=True)
    url = fields.String(required=True)
    description = fields.String(required=True)
    events = fields.List(fields.String(), required=True)
    is_enabled = fields.Boolean(required=True)
    disabled_reason = fields.String(allow_none=True)
    failing_since = fields.DateTime(allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class NewWebhookSchema(WebhookSchema):
    secret = fields.String(
        required=True,
        metadata={"description": "whsec_… signing secret; shown once, keep it in the receiver"},
    )


class WebhookDeliverySchema(Schema):
    id = fields.Integer(required=True)
    endpoint_id = fields.Integer(required=True)
    event_type = fields.Function(lambda d: d.event.type, required=True)
    message_id = fields.String(required=True, metadata={"description": "The webhook-id header"})
    status = fields.String(required=True, metadata={"description": "pending, delivered, failed"})
    attempts = fields.Integer(required=True)
    next_attempt_at = fields.DateTime(required=True)
    response_status = fields.Integer(allow_none=True)
    response_excerpt = fields.String(allow_none=True)
    latency_ms = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime(required=True)
