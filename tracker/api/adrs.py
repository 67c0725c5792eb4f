"""/api/v1 ADRs: propose, edit, decide, history, export (zip) and import (JSON files)."""

from flask import Response
from flask.views import MethodView

from tracker.api.common import (
    ETAG_HEADER,
    ID,
    IF_MATCH,
    Blueprint,
    actor,
    dump,
    expected_version,
    protected,
)
from tracker.schemas.adr import (
    AdrDecisionSchema,
    AdrRevisionSchema,
    AdrSchema,
    AdrUpdateSchema,
    AdrWriteSchema,
    ExportArgsSchema,
    ImportSchema,
)
from tracker.services.exchange import adr_exchange
from tracker.services.knowledge import adrs

URL_PREFIX = ""
blp = protected(Blueprint("ADRs", __name__, description="Architecture decision records"))


@blp.route(f"/engagements/<{ID}:engagement_id>/adrs")
class Adrs(MethodView):
    @blp.response(200, AdrSchema(many=True))
    def get(self, engagement_id):
        """The engagement's ADRs in number order."""
        return adrs.list_adrs(actor(), engagement_id)

    @blp.arguments(AdrWriteSchema)
    @blp.response(201, AdrSchema, headers=ETAG_HEADER)
    def post(self, data, engagement_id):
        """Propose an ADR (the next number is assigned); managers may create it accepted."""
        adr = adrs.create_adr(actor(), engagement_id, data)
        return dump(AdrSchema(), adr, status=201, version=adr.version)


@blp.route(f"/engagements/<{ID}:engagement_id>/adrs/export")
class AdrExport(MethodView):
    @blp.arguments(ExportArgsSchema, location="query")
    @blp.response(200, content_type="application/zip")
    def get(self, args, engagement_id):
        """A zip of the ADRs in the layout adr-tools, MADR 4 or log4brains reads."""
        data = adr_exchange.export_zip(actor(), engagement_id, args["profile"])
        name = f"engagement-{engagement_id}-adrs-{args['profile']}.zip"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(data, mimetype="application/zip", headers=headers)


@blp.route(f"/engagements/<{ID}:engagement_id>/adrs/import")
class AdrImport(MethodView):
    @blp.arguments(ImportSchema)
    @blp.response(201, AdrSchema(many=True))
    def post(self, data, engagement_id):
        """Import ADR files (any of the three layouts); one bad file imports nothing."""
        created = adr_exchange.import_files(actor(), engagement_id, data["files"])
        return dump(AdrSchema(many=True), created, status=201)


@blp.route(f"/adrs/<{ID}:adr_id>")
class AdrItem(MethodView):
    @blp.response(200, AdrSchema, headers=ETAG_HEADER)
    def get(self, adr_id):
        """One ADR with its supersede links."""
        adr = adrs.get_adr(actor(), adr_id)
        return dump(AdrSchema(), adr, version=adr.version)

    @blp.arguments(AdrUpdateSchema)
    @blp.response(200, AdrSchema, headers=ETAG_HEADER)
    @blp.alt_response(412, response="PRECONDITION_FAILED")
    @blp.doc(parameters=[IF_MATCH])
    def patch(self, data, adr_id):
        """Edit the text (providers: only their own proposed ADRs)."""
        adr = adrs.update_adr(actor(), adr_id, data, expected_version=expected_version())
        return dump(AdrSchema(), adr, version=adr.version)


@blp.route(f"/adrs/<{ID}:adr_id>/decision")
class AdrDecision(MethodView):
    @blp.arguments(AdrDecisionSchema)
    @blp.response(200, AdrSchema, headers=ETAG_HEADER)
    @blp.alt_response(412, response="PRECONDITION_FAILED")
    @blp.doc(parameters=[IF_MATCH])
    def post(self, data, adr_id):
        """Accept or reject a proposal, or deprecate an accepted ADR (managers)."""
        adr = adrs.decide_adr(
            actor(), adr_id, data["status"], note=data["note"], expected_version=expected_version()
        )
        return dump(AdrSchema(), adr, version=adr.version)


@blp.route(f"/adrs/<{ID}:adr_id>/revisions")
class AdrRevisions(MethodView):
    @blp.response(200, AdrRevisionSchema(many=True))
    def get(self, adr_id):
        """Every change to the ADR, oldest first, each with a full snapshot."""
        return adrs.history(actor(), adr_id)
