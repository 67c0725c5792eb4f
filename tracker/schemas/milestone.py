"""Milestone schemas: definitions (managers) and status updates (the provider's main action)."""

from functools import lru_cache

from marshmallow import Schema, fields, validate

from tracker.models import MilestoneStatus
from tracker.schemas.common import NAME_MAX, TEXT_MAX, Link, Text, UserRefSchema, object_dumper
from tracker.schemas.evidence import SuggestedVerdictSchema, TargetSchema

STATUSES = [s.value for s in MilestoneStatus]
NOTE_MAX = 5000


class MilestoneWriteSchema(Schema):
    title = Text(required=True, min_length=1, max_length=NAME_MAX)
    due_date = fields.Date(required=True)
    success_criteria = Text(max_length=TEXT_MAX)


class MilestoneUpdateFieldsSchema(Schema):
    """PATCH a milestone's definition: any subset."""

    title = Text(min_length=1, max_length=NAME_MAX)
    due_date = fields.Date()
    success_criteria = Text(max_length=TEXT_MAX)


class StatusUpdateWriteSchema(Schema):
    """A provider's status report (planned … done), or a manager's verdict (met, missed)."""

    status = fields.String(
        required=True,
        validate=validate.OneOf(STATUSES),
        metadata={"description": "met and missed (the verdict): managers and admins only"},
    )
    note = Text(max_length=NOTE_MAX, load_default="")
    evidence = fields.List(
        Link(max_length=1000, optional=False),
        load_default=list,
        validate=validate.Length(max=10),
        metadata={"description": "http(s) links to dashboards, reports, pull requests"},
    )
    reason = Text(
        max_length=NOTE_MAX,
        allow_none=True,
        metadata={"description": "Required for a verdict that goes against the measured evidence"},
    )


class StatusUpdateSchema(Schema):
    id = fields.Integer(required=True)
    milestone_id = fields.Integer(required=True)
    author = fields.Nested(UserRefSchema, allow_none=True)
    from_status = fields.String(allow_none=True)
    status = fields.String(required=True)
    note = fields.String(required=True)
    evidence = fields.List(fields.String(), required=True)
    reason = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)


DISPLAYED_KEYS = [*STATUSES, "overdue", "awaiting_verdict", "contradicted"]


class ClaimSchema(Schema):
    """The provider's last status, shown as a claim with the day it was made."""

    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    on = fields.Date(
        required=True, allow_none=True, metadata={"description": "null: no dated update"}
    )
    text = fields.String(required=True, metadata={"example": "Provider said On track, 3 Dec 2026"})


class DisplayedStatusSchema(Schema):
    """How the status reads on every page: judged from the due date, the verdict and the
    provider's dated claim (services/milestone_status). Past due without a verdict it is
    `overdue` whatever the provider last said; `status` keeps the stored value."""

    key = fields.String(required=True, validate=validate.OneOf(DISPLAYED_KEYS))
    label = fields.String(required=True, metadata={"example": "Overdue — no verdict"})
    tone = fields.String(
        required=True, validate=validate.OneOf(["green", "amber", "red", "blue", "slate"])
    )
    is_overdue = fields.Boolean(required=True)
    claim = fields.Nested(ClaimSchema, required=True, allow_none=True)
    contradictions = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "Measured evidence against the claim or verdict, in words"},
    )
    reasons = fields.List(fields.String(), required=True)


class MilestoneSchema(Schema):
    id = fields.Integer(required=True)
    engagement_id = fields.Integer(required=True)
    period = fields.Integer(required=True)
    title = fields.String(required=True)
    due_date = fields.Date(required=True)
    success_criteria = fields.String(required=True)
    status = fields.String(required=True)
    last_update_at = fields.DateTime(allow_none=True)
    verdict_by = fields.Nested(UserRefSchema, allow_none=True)
    verdict_at = fields.DateTime(allow_none=True)
    version = fields.Integer(required=True)
    displayed_status = fields.Nested(DisplayedStatusSchema, required=True, dump_only=True)
    targets = fields.List(
        fields.Nested(TargetSchema), attribute="evidence_targets", dump_default=list
    )
    suggested_verdict = fields.Nested(
        SuggestedVerdictSchema, attribute="evidence_suggestion", allow_none=True
    )


@lru_cache(maxsize=1)
def status_update_dumper():
    """One status update (an ORM row) dumped as StatusUpdateSchema dumps it, compiled once
    (`object_dumper`): the answer to the provider's main write (issue 29)."""
    return object_dumper(StatusUpdateSchema())
