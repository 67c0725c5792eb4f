"""CSV exports in the API: the engagement list (same filters and sort as GET /engagements)
and one engagement's milestones with history, checklist and audit trail."""

from flask.views import MethodView

from tracker.api.common import ID, Blueprint, actor, protected
from tracker.core import clock
from tracker.core.downloads import csv_response
from tracker.schemas.export import EngagementExportQuerySchema
from tracker.services.exchange import csv_export
from tracker.services.read_model import engagement_list

URL_PREFIX = "/engagements"
blp = protected(Blueprint("Exports", __name__, description="CSV exports"))
CSV_DOC = {"description": "UTF-8 CSV with a byte-order mark and a header row"}


@blp.route("/export.csv")
class EngagementExport(MethodView):
    @blp.arguments(EngagementExportQuerySchema, location="query")
    @blp.response(200, content_type="text/csv", **CSV_DOC)
    def get(self, args):
        """Every engagement GET /engagements selects, as CSV (cost columns for the client side)."""
        today = clock.now().date()
        query = engagement_list.query_from_args(args)
        chunks = csv_export.engagements_csv(actor(), query, today)
        return csv_response(chunks, f"engagements-{today.isoformat()}.csv")


@blp.route(f"/<{ID}:engagement_id>/milestones.csv")
class MilestonesExport(MethodView):
    @blp.response(200, content_type="text/csv", **CSV_DOC)
    def get(self, engagement_id):
        """The engagement's milestones, one row per status update."""
        chunks = csv_export.milestones_csv(actor(), engagement_id)
        return csv_response(chunks, f"engagement-{engagement_id}-milestones.csv")


@blp.route(f"/<{ID}:engagement_id>/checklist.csv")
class ChecklistExport(MethodView):
    @blp.response(200, content_type="text/csv", **CSV_DOC)
    def get(self, engagement_id):
        """The engagement's checklist items."""
        chunks = csv_export.checklist_csv(actor(), engagement_id)
        return csv_response(chunks, f"engagement-{engagement_id}-checklist.csv")


@blp.route(f"/<{ID}:engagement_id>/audit.csv")
class AuditExport(MethodView):
    @blp.response(200, content_type="text/csv", **CSV_DOC)
    def get(self, engagement_id):
        """The engagement's audit trail, oldest first."""
        chunks = csv_export.audit_csv(actor(), engagement_id)
        return csv_response(chunks, f"engagement-{engagement_id}-audit.csv")
