"""/api/v1/audit/export.csv and .jsonl: the deployment's whole audit trail (admins and
auditors; to anyone else these answer 404, before the filters are even read)."""

from flask import Response, stream_with_context
from flask.views import MethodView

from tracker.api.common import Blueprint, actor, protected
from tracker.core import clock
from tracker.schemas.audit_export import AuditExportQuerySchema
from tracker.services.audit_export import export

URL_PREFIX = "/audit"
blp = protected(
    Blueprint("AuditExport", __name__, description="Audit export (admins and auditors)")
)
JSONL_TYPE = "application/jsonl"


@blp.before_request
def exporters_only():
    export.require_exporter(actor())


def _download(chunks, content_type: str, extension: str) -> Response:
    response = Response(stream_with_context(chunks), content_type=f"{content_type}; charset=utf-8")
    name = f"audit-{clock.now().date().isoformat()}.{extension}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.route("/export.csv")
class AuditCsv(MethodView):
    @blp.arguments(AuditExportQuerySchema, location="query")
    @blp.response(
        200,
        content_type="text/csv",
        description="UTF-8 CSV with a byte-order mark and a header row, oldest event first",
    )
    def get(self, args):
        """Every audit event the filters select, as CSV (streamed)."""
        flt = export.parse_filter(args)
        return _download(export.export_csv(actor(), flt), "text/csv", "csv")


@blp.route("/export.jsonl")
class AuditJsonLines(MethodView):
    @blp.arguments(AuditExportQuerySchema, location="query")
    @blp.response(
        200,
        content_type=JSONL_TYPE,
        description="JSON Lines: one JSON object per event, oldest first",
    )
    def get(self, args):
        """Every audit event the filters select, as JSON Lines (streamed)."""
        flt = export.parse_filter(args)
        return _download(export.export_jsonl(actor(), flt), JSONL_TYPE, "jsonl")
