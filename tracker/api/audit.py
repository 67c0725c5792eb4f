"""/api/v1/engagements/<id>/audit: the engagement's timeline, newest first."""

from flask.views import MethodView

from tracker.api.common import ID, Blueprint, actor, page_response, protected
from tracker.auth.permissions import Action, can
from tracker.schemas.audit import AuditPageSchema, audit_schema
from tracker.schemas.common import PageArgsSchema
from tracker.services.read_model import engagement_queries

URL_PREFIX = ""
blp = protected(Blueprint("Audit", __name__, description="Audit timeline"))


@blp.route(f"/engagements/<{ID}:engagement_id>/audit")
class Timeline(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, AuditPageSchema)
    def get(self, args, engagement_id):
        """Every recorded change and transition: who, what, from and to, why, when."""
        page = engagement_queries.audit_timeline(actor(), engagement_id, **args)
        schema = audit_schema(can(actor(), Action.VIEW_COST))
        return page_response(schema, page)
