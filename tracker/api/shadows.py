"""/api/v1 shadow assignments: assign, sessions, confidence and the owner's sign-off."""

from flask.views import MethodView

from tracker.api.common import ID, Blueprint, actor, dump, protected
from tracker.schemas.shadow import (
    ConfidenceSchema,
    SessionSchema,
    SessionWriteSchema,
    ShadowSchema,
    ShadowUpdateSchema,
    ShadowWriteSchema,
)
from tracker.services.knowledge import shadows

URL_PREFIX = ""
blp = protected(Blueprint("Shadows", __name__, description="Shadow assignments"))


@blp.route(f"/engagements/<{ID}:engagement_id>/shadows")
class Shadows(MethodView):
    @blp.response(200, ShadowSchema(many=True))
    def get(self, engagement_id):
        """Who shadows whom on which areas, with sessions and sign-off."""
        return shadows.list_shadows(actor(), engagement_id)

    @blp.arguments(ShadowWriteSchema)
    @blp.response(201, ShadowSchema)
    def post(self, data, engagement_id):
        """Assign an internal user to shadow an external member (managers)."""
        return dump(ShadowSchema(), shadows.assign_shadow(actor(), engagement_id, data), status=201)


@blp.route(f"/shadows/<{ID}:assignment_id>")
class ShadowItem(MethodView):
    @blp.response(200, ShadowSchema)
    def get(self, assignment_id):
        """One assignment."""
        return shadows.get_shadow(actor(), assignment_id)

    @blp.arguments(ShadowUpdateSchema)
    @blp.response(200, ShadowSchema)
    def patch(self, data, assignment_id):
        """Change areas or dates; new areas withdraw an existing sign-off."""
        return shadows.update_shadow(actor(), assignment_id, data)


@blp.route(f"/shadows/<{ID}:assignment_id>/sessions")
class Sessions(MethodView):
    @blp.arguments(SessionWriteSchema)
    @blp.response(201, SessionSchema)
    def post(self, data, assignment_id):
        """Log a pairing session."""
        return dump(SessionSchema(), shadows.log_session(actor(), assignment_id, data), status=201)


@blp.route(f"/shadows/<{ID}:assignment_id>/confidence")
class Confidence(MethodView):
    @blp.arguments(ConfidenceSchema)
    @blp.response(200, ShadowSchema)
    def put(self, data, assignment_id):
        """The shadow's own confidence rating, 1-5."""
        return shadows.rate_confidence(actor(), assignment_id, data["confidence"])


@blp.route(f"/shadows/<{ID}:assignment_id>/sign-off")
class SignOff(MethodView):
    @blp.response(200, ShadowSchema)
    def post(self, assignment_id):
        """The engagement owner signs off (needs a session and a confidence rating)."""
        return shadows.sign_off(actor(), assignment_id)
