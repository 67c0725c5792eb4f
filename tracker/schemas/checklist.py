"""Checklist item schemas: adding and editing items, completing and reopening them."""

from marshmallow import Schema, fields, validate

from tracker.models import ChecklistKind
from tracker.schemas.common import NAME_MAX, Id, Link, Text

KINDS = [k.value for k in ChecklistKind]
NOTE_MAX = 5000
EVIDENCE_MAX = 500


class ChecklistQuerySchema(Schema):
    kind = fields.String(validate=validate.OneOf(KINDS))


class ChecklistItemWriteSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    title = Text(required=True, min_length=1, max_length=NAME_MAX)
    owner_id = Id(allow_none=True)
    due_date = fields.Date(allow_none=True)
    note = Text(max_length=NOTE_MAX)
    evidence = Link(max_length=EVIDENCE_MAX)


class ChecklistItemUpdateSchema(Schema):
    title = Text(min_length=1, max_length=NAME_MAX)
    owner_id = Id(allow_none=True)
    due_date = fields.Date(allow_none=True)
    note = Text(max_length=NOTE_MAX)
    evidence = Link(max_length=EVIDENCE_MAX)


class ChecklistMoveSchema(Schema):
    direction = fields.String(required=True, validate=validate.OneOf(["up", "down"]))


class CompleteSchema(Schema):
    note = Text(max_length=NOTE_MAX, load_default="")
    status = fields.String(load_default="done", validate=validate.OneOf(["done", "not_applicable"]))


class ReopenSchema(Schema):
    note = Text(max_length=NOTE_MAX, load_default="")


class ChecklistItemSchema(Schema):
    id = fields.Integer(required=True)
    engagement_id = fields.Integer(required=True)
    kind = fields.String(required=True)
    key = fields.String(allow_none=True)
    title = fields.String(required=True)
    owner_id = fields.Integer(allow_none=True)
    due_date = fields.Date(allow_none=True)
    status = fields.String(required=True)
    note = fields.String(required=True)
    completed_by_id = fields.Integer(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    position = fields.Integer(required=True)
    evidence = fields.String(required=True)
    version = fields.Integer(required=True)
