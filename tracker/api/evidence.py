"""/api/v1 evidence: success metrics, milestone targets, measurements and ingest tokens.

An ingest token (a pipeline) may call only the operations whose view class lists the
method in INGEST_METHODS: read its engagement's metrics, record measurements.
"""

from flask import jsonify
from flask.views import MethodView

from tracker.api.common import (
    ETAG_HEADER,
    ID,
    IF_MATCH,
    Blueprint,
    actor,
    dump,
    expected_version,
    no_content,
    principal,
    protected,
)
from tracker.api.exports import CSV_DOC
from tracker.core.downloads import csv_response
from tracker.schemas.evidence import (
    BatchResultSchema,
    BatchWriteSchema,
    IngestTokenSchema,
    IngestTokenWriteSchema,
    MeasurementSchema,
    MeasurementWriteSchema,
    MetricPatchSchema,
    MetricSchema,
    MetricWriteSchema,
    NewIngestTokenSchema,
    TargetSchema,
    TargetWriteSchema,
)
from tracker.services.evidence import exports, ingest, measurements, metrics

URL_PREFIX = ""
blp = protected(
    Blueprint("Evidence", __name__, description="Success metrics, targets, measurements")
)


@blp.route(f"/engagements/<{ID}:engagement_id>/metrics")
class Metrics(MethodView):
    INGEST_METHODS = ("GET",)

    @blp.response(200, MetricSchema(many=True))
    def get(self, engagement_id):
        """The engagement's success metrics (ingest tokens: their own engagement's)."""
        return metrics.list_metrics(principal(), engagement_id)

    @blp.arguments(MetricWriteSchema)
    @blp.response(201, MetricSchema, headers=ETAG_HEADER)
    def post(self, data, engagement_id):
        """Define a success metric (managers and admins); audited."""
        metric = metrics.create_metric(actor(), engagement_id, data)
        return dump(MetricSchema(), metric, status=201, version=metric.version)


@blp.route(f"/metrics/<{ID}:metric_id>")
class MetricItem(MethodView):
    INGEST_METHODS = ("GET",)

    @blp.response(200, MetricSchema, headers=ETAG_HEADER)
    def get(self, metric_id):
        """One metric, with its ETag."""
        metric, _ = metrics.metric_for(principal(), metric_id)
        return dump(MetricSchema(), metric, version=metric.version)

    @blp.arguments(MetricPatchSchema(partial=True))
    @blp.response(200, MetricSchema, headers=ETAG_HEADER)
    @blp.alt_response(412, response="PRECONDITION_FAILED")
    @blp.doc(parameters=[IF_MATCH])
    def patch(self, data, metric_id):
        """Change a metric's definition (managers and admins); audited."""
        metric = metrics.update_metric(actor(), metric_id, data, expected_version())
        return dump(MetricSchema(), metric, version=metric.version)

    @blp.response(204)
    @blp.alt_response(412, response="PRECONDITION_FAILED")
    @blp.doc(parameters=[IF_MATCH])
    def delete(self, metric_id):
        """Remove a metric; its measurements are kept."""
        metrics.remove_metric(actor(), metric_id, expected_version())
        return no_content()


@blp.route(f"/milestones/<{ID}:milestone_id>/targets/<{ID}:metric_id>")
class Target(MethodView):
    @blp.arguments(TargetWriteSchema)
    @blp.response(200, TargetSchema)
    def put(self, data, milestone_id, metric_id):
        """Set the value a metric must reach by the milestone's due date."""
        metrics.set_target(actor(), milestone_id, metric_id, data["target"])
        return metrics.judged_target(actor(), milestone_id, metric_id)

    @blp.response(204)
    def delete(self, milestone_id, metric_id):
        """Remove the milestone's target for this metric."""
        metrics.remove_target(actor(), milestone_id, metric_id)
        return no_content()


@blp.route(f"/metrics/<{ID}:metric_id>/measurements")
class Measurements(MethodView):
    INGEST_METHODS = ("POST",)

    @blp.response(200, MeasurementSchema(many=True))
    def get(self, metric_id):
        """The metric's measurements, newest first, corrections included."""
        return measurements.list_measurements(actor(), metric_id)

    @blp.arguments(MeasurementWriteSchema)
    @blp.response(201, MeasurementSchema)
    @blp.alt_response(
        200,
        schema=MeasurementSchema,
        description="A replay: this idempotency key was recorded with the same body",
        success=True,
    )
    def post(self, data, metric_id):
        """Record a measurement (provider, manager, admin, ingest token); 200 on a replay."""
        found = measurements.record_one(principal(), metric_id, data)
        return dump(MeasurementSchema(), found, status=200 if found.replayed else 201)


@blp.route(f"/engagements/<{ID}:engagement_id>/measurements")
class MeasurementBatch(MethodView):
    INGEST_METHODS = ("POST",)

    @blp.arguments(BatchWriteSchema)
    @blp.response(201, BatchResultSchema)
    def post(self, data, engagement_id):
        """Record up to 1,000 measurements: all or nothing; keys make retries harmless."""
        result = measurements.record_batch(principal(), engagement_id, data["measurements"])
        return jsonify(result), 201


@blp.route(f"/engagements/<{ID}:engagement_id>/measurements.csv")
class MeasurementsExport(MethodView):
    @blp.response(200, content_type="text/csv", **CSV_DOC)
    def get(self, engagement_id):
        """Every measurement of the engagement's metrics, oldest first."""
        chunks = exports.measurements_csv(actor(), engagement_id)
        return csv_response(chunks, f"engagement-{engagement_id}-measurements.csv")


@blp.route(f"/engagements/<{ID}:engagement_id>/ingest-tokens")
class IngestTokens(MethodView):
    @blp.response(200, IngestTokenSchema(many=True))
    def get(self, engagement_id):
        """The engagement's ingest tokens (the secrets are never shown again)."""
        return ingest.list_tokens(actor(), engagement_id)

    @blp.arguments(IngestTokenWriteSchema)
    @blp.response(201, NewIngestTokenSchema)
    def post(self, data, engagement_id):
        """Create an ingest token for a pipeline; the response carries it, this once."""
        token, secret = ingest.create_token(actor(), engagement_id, data["name"])
        return jsonify(IngestTokenSchema().dump(token) | {"token": secret}), 201


@blp.route(f"/ingest-tokens/<{ID}:token_id>")
class IngestTokenItem(MethodView):
    @blp.response(204)
    def delete(self, token_id):
        """Revoke an ingest token at once."""
        ingest.revoke_token(actor(), token_id)
        return no_content()
