"""/api/v1 handover proof: walk-away drills, the access register, exit confirmations."""

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
from tracker.api.exports import CSV_DOC
from tracker.core.downloads import csv_response
from tracker.schemas.handover import (
    AccessSchema,
    AccessWriteSchema,
    CommentSchema,
    CommentWriteSchema,
    DrillSchema,
    DrillWriteSchema,
    ExitSchema,
    ExitWriteSchema,
    RevokeSchema,
    VerifySchema,
)
from tracker.services.handover import access, drills, exits

URL_PREFIX = ""
blp = protected(Blueprint("Handover", __name__, description="Drills, access register, exit"))


@blp.route(f"/shadows/<{ID}:shadow_id>/drills")
class ShadowDrills(MethodView):
    @blp.response(200, DrillSchema(many=True))
    def get(self, shadow_id):
        """The walk-away drills of one shadow assignment, newest first."""
        return drills.list_for_shadow(actor(), shadow_id)

    @blp.arguments(DrillWriteSchema)
    @blp.response(201, DrillSchema)
    def post(self, data, shadow_id):
        """Record a drill (client side); a failed or partial one opens a follow-up item."""
        return dump(DrillSchema(), drills.record_drill(actor(), shadow_id, data), status=201)


@blp.route(f"/engagements/<{ID}:engagement_id>/drills")
class EngagementDrills(MethodView):
    @blp.response(200, DrillSchema(many=True))
    def get(self, engagement_id):
        """Every drill of the engagement, newest first."""
        return drills.list_for_engagement(actor(), engagement_id)


@blp.route(f"/drills/<{ID}:drill_id>/comments")
class DrillComments(MethodView):
    @blp.arguments(CommentWriteSchema)
    @blp.response(201, CommentSchema)
    def post(self, data, drill_id):
        """Comment on a drill (providers too: they see drills but do not record them)."""
        return dump(
            CommentSchema(), drills.comment_on_drill(actor(), drill_id, data["body"]), status=201
        )


@blp.route(f"/team-members/<{ID}:member_id>/access")
class MemberAccess(MethodView):
    @blp.response(200, AccessSchema(many=True))
    def get(self, member_id):
        """The systems this member was given access to."""
        return access.list_for_member(actor(), member_id)

    @blp.arguments(AccessWriteSchema)
    @blp.response(201, AccessSchema, headers=ETAG_HEADER)
    def post(self, data, member_id):
        """Add an access entry (client side)."""
        entry = access.add_entry(actor(), member_id, data)
        return dump(AccessSchema(), entry, status=201, version=entry.version)


@blp.route(f"/access/<{ID}:entry_id>/revoke")
class RevokeAccess(MethodView):
    @blp.arguments(RevokeSchema)
    @blp.response(200, AccessSchema, headers=ETAG_HEADER)
    @blp.alt_response(412, response="PRECONDITION_FAILED")
    @blp.doc(parameters=[IF_MATCH])
    def post(self, data, entry_id):
        """Mark the access revoked (now, by you); revoking twice is a 409."""
        entry = access.revoke_entry(
            actor(), entry_id, data["note"], expected_version=expected_version()
        )
        return dump(AccessSchema(), entry, version=entry.version)


@blp.route(f"/access/<{ID}:entry_id>/verify")
class VerifyAccess(MethodView):
    @blp.arguments(VerifySchema)
    @blp.response(200, AccessSchema, headers=ETAG_HEADER)
    @blp.alt_response(412, response="PRECONDITION_FAILED")
    @blp.doc(parameters=[IF_MATCH])
    def post(self, data, entry_id):
        """Verify a revocation someone else made, saying how you checked."""
        entry = access.verify_entry(
            actor(), entry_id, data["how"], expected_version=expected_version()
        )
        return dump(AccessSchema(), entry, version=entry.version)


@blp.route(f"/engagements/<{ID}:engagement_id>/access")
class EngagementAccess(MethodView):
    @blp.response(200, AccessSchema(many=True))
    def get(self, engagement_id):
        """The engagement's access register, member by member."""
        return access.list_for_engagement(actor(), engagement_id)


@blp.route(f"/engagements/<{ID}:engagement_id>/access.csv")
class EngagementAccessExport(MethodView):
    @blp.response(200, content_type="text/csv", **CSV_DOC)
    def get(self, engagement_id):
        """The access register as CSV, for an auditor."""
        chunks = access.access_csv(actor(), engagement_id)
        return csv_response(chunks, f"engagement-{engagement_id}-access.csv")


@blp.route(f"/engagements/<{ID}:engagement_id>/exit")
class EngagementExit(MethodView):
    @blp.response(200, ExitSchema, headers=ETAG_HEADER)
    def get(self, engagement_id):
        """The exit confirmations (version 0 and empty fields before any is recorded)."""
        row = exits.get_exit(actor(), engagement_id)
        return dump(ExitSchema(), row, version=row.version)

    @blp.arguments(ExitWriteSchema)
    @blp.response(200, ExitSchema, headers=ETAG_HEADER)
    @blp.alt_response(412, response="PRECONDITION_FAILED")
    @blp.doc(parameters=[IF_MATCH])
    def put(self, data, engagement_id):
        """Replace the exit confirmations (client side); each changed part names you."""
        row = exits.put_exit(actor(), engagement_id, data, expected_version=expected_version())
        return dump(ExitSchema(), row, version=row.version)
