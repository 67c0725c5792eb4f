"""Evidence schemas: success metrics, milestone targets, measurements and ingest tokens.

Numbers are JSON numbers that are finite (NaN and Infinity are refused); kinds and
directions are closed lists. The ingest token's secret appears once, as `token`.
"""

from marshmallow import Schema, fields, validate

from tracker.models import MetricDirection, MetricKind
from tracker.schemas.common import NAME_MAX, Id, Link, Text, UserRefSchema

KINDS = [k.value for k in MetricKind]
DIRECTIONS = [d.value for d in MetricDirection]
NOTE_MAX = 5000
BATCH_MAX = 1000


class FiniteNumber(fields.Float):
    """A JSON number that is finite: NaN, Infinity, text and booleans are refused."""

    def __init__(self, **kwargs):
        super().__init__(allow_nan=False, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid", input=value)
        return super()._deserialize(value, attr, data, **kwargs)


class MetricWriteSchema(Schema):
    name = Text(
        required=True, min_length=1, max_length=NAME_MAX, metadata={"example": "p95 latency"}
    )
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    unit = Text(max_length=40, metadata={"example": "ms"})
    direction = fields.String(
        required=True,
        validate=validate.OneOf(DIRECTIONS),
        metadata={"description": "Which way is better"},
    )
    baseline = FiniteNumber(allow_none=True, metadata={"description": "Before the work started"})
    baseline_measured_at = fields.Date(allow_none=True)
    source_note = Text(max_length=NOTE_MAX, metadata={"description": "Where the number comes from"})


class MetricPatchSchema(MetricWriteSchema):
    """PATCH a metric: any subset (use an instance made with partial=True)."""


class MetricSchema(Schema):
    id = fields.Integer(required=True)
    engagement_id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    unit = fields.String(required=True)
    direction = fields.String(required=True)
    baseline = fields.Float(allow_none=True)
    baseline_measured_at = fields.Date(allow_none=True)
    source_note = fields.String(required=True)
    version = fields.Integer(required=True)


class TargetWriteSchema(Schema):
    target = FiniteNumber(required=True, metadata={"example": 2000})


class TargetSchema(Schema):
    """A milestone's target for one metric, judged from the measurements."""

    metric_id = fields.Integer(required=True)
    name = fields.String(required=True)
    unit = fields.String(required=True)
    direction = fields.String(required=True)
    target = fields.Float(required=True)
    latest = fields.Float(allow_none=True)
    latest_at = fields.DateTime(allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(["met", "not_met", "no_data"]))


class SuggestedVerdictSchema(Schema):
    verdict = fields.String(required=True, validate=validate.OneOf(["met", "missed", "undecided"]))
    reasons = fields.List(fields.String(), required=True)


class MeasurementWriteSchema(Schema):
    value = FiniteNumber(required=True)
    measured_at = fields.AwareDateTime(
        default_timezone=None, metadata={"description": "Default now; never in the future"}
    )
    note = Text(max_length=NOTE_MAX)
    evidence_url = Link(max_length=1000, optional=False, allow_none=True)
    idempotency_key = Text(
        min_length=1,
        max_length=200,
        metadata={"description": "Unique per engagement: a retry with it records nothing new"},
    )
    supersedes_id = Id(metadata={"description": "A correction: the measurement it replaces"})
    correction_reason = Text(max_length=NOTE_MAX)


class BatchItemSchema(MeasurementWriteSchema):
    metric_id = Id(required=True)


class BatchWriteSchema(Schema):
    measurements = fields.List(
        fields.Nested(BatchItemSchema),
        required=True,
        validate=validate.Length(min=1, max=BATCH_MAX),
    )


class BatchResultSchema(Schema):
    recorded = fields.Integer(required=True, metadata={"description": "New measurements stored"})
    replayed = fields.Integer(
        required=True, metadata={"description": "Items whose idempotency key was already stored"}
    )


class MeasurementSchema(Schema):
    id = fields.Integer(required=True)
    metric_id = fields.Integer(required=True)
    value = fields.Float(required=True)
    measured_at = fields.DateTime(required=True)
    note = fields.String(required=True)
    evidence_url = fields.String(allow_none=True)
    recorded_by = fields.Nested(UserRefSchema, allow_none=True)
    recorded_by_label = fields.String(required=True)
    ingest_token_id = fields.Integer(allow_none=True)
    idempotency_key = fields.String(allow_none=True)
    supersedes_id = fields.Integer(allow_none=True)
    correction_reason = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)


class IngestTokenWriteSchema(Schema):
    name = Text(required=True, min_length=1, max_length=100, metadata={"example": "nightly-eval"})


class IngestTokenSchema(Schema):
    id = fields.Integer(required=True)
    engagement_id = fields.Integer(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    is_active = fields.Boolean(required=True)


class NewIngestTokenSchema(IngestTokenSchema):
    token = fields.String(
        required=True,
        metadata={"description": "Send as `Authorization: Bearer <token>`; shown once"},
    )
