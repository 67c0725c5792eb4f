"""Audit trail schemas; the non-cost audience never sees cost fields in recorded changes."""

from marshmallow import Schema, fields

from tracker.schemas.common import PageMetaSchema
from tracker.schemas.engagement import COST_FIELDS


class AuditEventSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    event = fields.String(allow_none=True)
    from_state = fields.String(allow_none=True)
    to_state = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    actor_id = fields.Integer(allow_none=True)
    actor_label = fields.String(required=True)
    data = fields.Dict(required=True)
    workflow_version = fields.Integer(allow_none=True)
    created_at = fields.DateTime(required=True)


class RedactedAuditEventSchema(AuditEventSchema):
    """For providers and stakeholders: cost fields are left out of recorded changes
    altogether (entries that changed only them are not even read: services/core/audit.py)."""

    data = fields.Method("redacted_data", required=True)

    def redacted_data(self, event) -> dict:
        data = dict(event.data or {})
        changed = data.get("changed")
        if isinstance(changed, dict):
            data["changed"] = {k: v for k, v in changed.items() if k not in COST_FIELDS}
        return data


class AuditPageSchema(Schema):
    items = fields.List(fields.Nested(AuditEventSchema), required=True)
    meta = fields.Nested(PageMetaSchema, required=True)


def audit_schema(can_view_cost: bool) -> Schema:
    return AuditEventSchema(many=True) if can_view_cost else RedactedAuditEventSchema(many=True)
