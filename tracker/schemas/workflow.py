"""Workflow definitions as the API lists them: what a new engagement may run on."""

from __future__ import annotations

from marshmallow import Schema, fields


class WorkflowSchema(Schema):
    """One workflow (a definition name) a new engagement can start on."""

    name = fields.String(
        required=True,
        metadata={"description": "What to send as workflow_name on POST /engagements"},
    )
    title = fields.String(required=True)
    description = fields.String(required=True)
    version = fields.Integer(
        required=True, metadata={"description": "The newest version: what a new engagement runs"}
    )
    versions = fields.List(
        fields.Integer(), required=True, metadata={"description": "Every version on file"}
    )
    default = fields.Boolean(
        required=True, metadata={"description": "Used when workflow_name is left out"}
    )


class WorkflowListSchema(Schema):
    """GET /workflows: the workflows on offer, the default first."""

    items = fields.List(fields.Nested(WorkflowSchema), required=True)
