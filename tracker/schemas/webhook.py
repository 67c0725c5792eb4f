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
    "measurement.recorded",
    "milestone.suggested_verdict_changed",
    "drill.recorded",
    "access.revoked",
    "change_request.proposed",
    "change_request.approved",
    "change_request.rejected",
)
URL_MAX = 2000


def _events(**kwargs):
    return fields.List(
        fields.String(validate=validate.OneOf(EVENT_TYPES)),
        validate=validate.Length(min=1, max=len(EVENT_TYPES)),
        metadata={"description": "Event types to receive"},
        **kwargs,
    )


# An http(s) URL in printable ASCII (international names in punycode): a host name or a
# bracketed IP literal, an optional numeric port, then a path, query or fragment. The
# service checks the URL against this very pattern (services/webhooks.check_target);
# tracker/api narrows the scheme to https in the document when WEBHOOK_REQUIRE_HTTPS is on.
_H = "[0-9A-Fa-f]{1,4}"
_IPV6 = "|".join(  # the standard textual forms (RFC 4291 2.2), without zone or embedded IPv4
    [
        f"({_H}:){{7}}{_H}",
        f"({_H}:){{1,7}}:",
        f"({_H}:){{1,6}}:{_H}",
        *(f"({_H}:){{1,{n}}}(:{_H}){{1,{7 - n}}}" for n in range(5, 0, -1)),
        f":((:{_H}){{1,7}}|:)",
    ]
)
_PORT = "([0-9]{0,4}|[0-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
URL_PATTERN = (
    "^[Hh][Tt][Tt][Pp][Ss]?://([A-Za-z0-9._~%!$&'()*+,;=:-]*@)?"
    f"(\\[({_IPV6})\\]|[A-Za-z0-9._~%!$&'()*+,;=-]+)(:{_PORT})?([/?#][!-~]*)?$"
)
URL_RULES = (
    "An http(s) URL in printable ASCII (a port up to 65535). Its host must resolve to "
    "public addresses (not loopback, private, "
    "link-local or reserved) unless the deployment sets WEBHOOK_ALLOW_PRIVATE_TARGETS; "
    "with WEBHOOK_REQUIRE_HTTPS only https is accepted. Refused with 422 naming `url`."
)


def _url(**kwargs):
    return Text(
        min_length=8,
        max_length=URL_MAX,
        pattern=URL_PATTERN,
        metadata={"example": "https://x.example/h", "description": URL_RULES},
        **kwargs,
    )


class WebhookWriteSchema(Schema):
    url = _url(required=True)
    events = _events(required=True)
    description = Text(max_length=500)
    is_enabled = StrictBoolean()


class WebhookUpdateSchema(WebhookWriteSchema):
    url = _url()
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
