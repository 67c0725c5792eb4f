"""/api/v1/engagements: list (filters, sort, pages), create, read, update.

The pattern every resource module follows: a flask-smorest blueprint marked
`protected`, input parsed by a schema (`@blp.arguments`), one service call
with the explicit actor, the result dumped through the audience's field set
(`dump`), ETag on versioned single resources, optional If-Match on writes.
"""

from flask import jsonify
from flask.views import MethodView

from tracker.api.common import (
    ETAG_HEADER,
    ID,
    IF_MATCH,
    Blueprint,
    actor,
    etag,
    expected_version,
    protected,
    rows_page_response,
)
from tracker.auth.permissions import Action, can
from tracker.schemas.engagement import (
    EngagementPageSchema,
    EngagementQuerySchema,
    EngagementSchema,
    EngagementUpdateSchema,
    EngagementWriteSchema,
    detail_dumper,
    summary_row_dumper,
)
from tracker.services.read_model import engagement_list, engagement_queries
from tracker.services.staffing import engagements

URL_PREFIX = "/engagements"
blp = protected(Blueprint("Engagements", __name__, description="Engagements"))


def _dump_one(engagement, status: int = 200):
    """The engagement as `engagement_schema` for this audience dumps it (compiled once)."""
    response = jsonify(detail_dumper(can(actor(), Action.VIEW_COST))(engagement))
    response.status_code = status
    response.headers["ETag"] = etag(engagement.version)
    return response


@blp.route("")
class Engagements(MethodView):
    @blp.arguments(EngagementQuerySchema, location="query")
    @blp.response(200, EngagementPageSchema)
    def get(self, args):
        """Engagements you may see; filter by state, health, provider, owner or text."""
        query = engagement_list.query_from_args(args)
        page = engagement_list.list_page(actor(), query, facts=False)
        dump_row = summary_row_dumper(can(actor(), Action.VIEW_COST), page.columns)
        return rows_page_response(dump_row, page)

    @blp.arguments(EngagementWriteSchema)
    @blp.response(201, EngagementSchema, headers=ETAG_HEADER)
    def post(self, data):
        """Create an engagement in its workflow's first state (admins and managers)."""
        return _dump_one(engagements.create_engagement(actor(), data), status=201)


@blp.route(f"/<{ID}:engagement_id>")
class EngagementItem(MethodView):
    @blp.response(200, EngagementSchema, headers=ETAG_HEADER)
    def get(self, engagement_id):
        """One engagement; cost figures and internal notes only for the client side."""
        return _dump_one(engagement_queries.engagement_detail(actor(), engagement_id))

    @blp.arguments(EngagementUpdateSchema)
    @blp.response(200, EngagementSchema, headers=ETAG_HEADER)
    @blp.alt_response(412, response="PRECONDITION_FAILED")
    @blp.doc(parameters=[IF_MATCH])
    def patch(self, data, engagement_id):
        """Change engagement fields; send If-Match with the ETag you read to avoid lost updates."""
        engagement = engagements.update_engagement(
            actor(), engagement_id, data, expected_version=expected_version()
        )
        return _dump_one(engagement)
