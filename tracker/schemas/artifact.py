"""Artifact schemas (runbooks, overviews, recordings as links) and the readiness breakdown."""

from marshmallow import Schema, fields, validate

from tracker.schemas.common import NAME_MAX, Id, Link, Text, UnmetSchema, UserRefSchema

KINDS = ["runbook", "architecture_overview", "recording", "access_handover", "other"]


class ArtifactWriteSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    title = Text(required=True, min_length=1, max_length=NAME_MAX)
    url = Link(max_length=1000, optional=False, required=True)
    owner_id = Id(allow_none=True)
    description = Text(max_length=2000, load_default="")


class ArtifactSchema(Schema):
    id = fields.Integer(required=True)
    engagement_id = fields.Integer(required=True)
    kind = fields.String(required=True)
    title = fields.String(required=True)
    url = fields.String(required=True)
    owner = fields.Nested(UserRefSchema, allow_none=True)
    created_at = fields.DateTime(required=True)


class ReadinessPartSchema(Schema):
    name = fields.String(required=True)
    label = fields.String(required=True)
    done = fields.Integer(required=True)
    total = fields.Integer(required=True)
    detail = fields.String(required=True)
    gaps = fields.List(fields.Nested(UnmetSchema), required=True)
    weight = fields.Integer(required=True, metadata={"description": "Share of the score"})
    applicable = fields.Boolean(
        required=True, metadata={"description": "False where the definition says it does not apply"}
    )


class ReadinessSchema(Schema):
    score = fields.Integer(required=True, metadata={"description": "0-100; 100 = ready to close"})
    is_ready = fields.Boolean(required=True)
    parts = fields.List(fields.Nested(ReadinessPartSchema), required=True)
    summary = fields.String(required=True, metadata={"description": "The breakdown in words"})
