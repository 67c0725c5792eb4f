"""/api/v1/engagements/<id>/transitions: what can happen next, and making it happen."""

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
from tracker.auth.permissions import Action, can
from tracker.schemas.engagement import EngagementSchema, engagement_schema
from tracker.schemas.transition import FireSchema, TransitionOptionSchema
from tracker.services.workflow import transitions

URL_PREFIX = ""
blp = protected(Blueprint("Transitions", __name__, description="Lifecycle transitions"))


@blp.route(f"/engagements/<{ID}:engagement_id>/transitions")
class Transitions(MethodView):
    @blp.response(200, TransitionOptionSchema(many=True))
    def get(self, engagement_id):
        """Every transition out of the current state: allowed, or refused with every unmet item."""
        options = transitions.available_transitions(actor(), engagement_id)
        return [option.to_dict() for option in options]


@blp.route(f"/engagements/<{ID}:engagement_id>/transitions/<string(maxlength=60):event>")
class Fire(MethodView):
    @blp.arguments(FireSchema)
    @blp.response(200, EngagementSchema, headers=ETAG_HEADER)
    @blp.alt_response(409, response="CONFLICT", description="Requirements unmet: see `unmet`")
    @blp.alt_response(412, response="PRECONDITION_FAILED")
    @blp.doc(parameters=[IF_MATCH])
    def post(self, data, engagement_id, event):
        """Fire the transition `event`; 409 lists every unmet requirement, 412 a stale If-Match."""
        engagement = transitions.fire(
            actor(),
            engagement_id,
            event,
            data["inputs"],
            expected_version=expected_version(),
            override_reason=data.get("override_reason"),
        )
        schema = engagement_schema(can(actor(), Action.VIEW_COST))
        return dump(schema, engagement, version=engagement.version)
