"""/api/v1 milestones: definitions (managers) and status updates (the provider's main action)."""

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
    protected,
)
from tracker.core import clock
from tracker.schemas.milestone import (
    MilestoneSchema,
    MilestoneUpdateFieldsSchema,
    MilestoneWriteSchema,
    StatusUpdateSchema,
    StatusUpdateWriteSchema,
    status_update_dumper,
)
from tracker.services.delivery import milestones
from tracker.services.evidence import reads
from tracker.services.milestone_status import with_displayed_status
from tracker.services.read_model import engagement_queries

URL_PREFIX = ""
blp = protected(Blueprint("Milestones", __name__, description="Milestones and status updates"))


def _shown(found):
    """The milestones with their targets judged, their suggested verdict and their
    displayed status, which the targets' evidence can contradict (the stored `status`
    stays as it is)."""
    today = clock.now().date()
    reads.attach(found, actor(), today)
    return with_displayed_status(found, today, evidence=reads.claim_evidence)


@blp.route(f"/engagements/<{ID}:engagement_id>/milestones")
class Milestones(MethodView):
    @blp.response(200, MilestoneSchema(many=True))
    def get(self, engagement_id):
        """The engagement's milestones, due soonest first, with targets and suggested verdicts."""
        return _shown(milestones.list_milestones(actor(), engagement_id))

    @blp.arguments(MilestoneWriteSchema)
    @blp.response(201, MilestoneSchema, headers=ETAG_HEADER)
    def post(self, data, engagement_id):
        """Add a milestone to the current period (client side)."""
        milestone = milestones.create_milestone(actor(), engagement_id, data)
        return dump(
            MilestoneSchema(), _shown([milestone])[0], status=201, version=milestone.version
        )


@blp.route("/milestones/mine")
class MyMilestones(MethodView):
    @blp.response(200, MilestoneSchema(many=True))
    def get(self):
        """Open milestones across the engagements you may see, due soonest first."""
        return _shown(milestones.my_milestones(actor()))


@blp.route(f"/milestones/<{ID}:milestone_id>")
class MilestoneItem(MethodView):
    @blp.response(200, MilestoneSchema, headers=ETAG_HEADER)
    def get(self, milestone_id):
        """One milestone with its targets judged and its suggested verdict, and its ETag."""
        milestone = engagement_queries.get_milestone(actor(), milestone_id)
        return dump(MilestoneSchema(), _shown([milestone])[0], version=milestone.version)

    @blp.arguments(MilestoneUpdateFieldsSchema)
    @blp.response(200, MilestoneSchema, headers=ETAG_HEADER)
    @blp.alt_response(412, response="PRECONDITION_FAILED")
    @blp.doc(parameters=[IF_MATCH])
    def patch(self, data, milestone_id):
        """Change the title, due date or success criteria (client side)."""
        milestone = milestones.update_milestone(
            actor(), milestone_id, data, expected_version=expected_version()
        )
        return dump(MilestoneSchema(), _shown([milestone])[0], version=milestone.version)

    @blp.response(204)
    @blp.alt_response(412, response="PRECONDITION_FAILED")
    @blp.doc(parameters=[IF_MATCH])
    def delete(self, milestone_id):
        """Remove a milestone (client side); one with status updates keeps its history."""
        milestones.remove_milestone(actor(), milestone_id, expected_version=expected_version())
        return no_content()


@blp.route(f"/milestones/<{ID}:milestone_id>/updates")
class StatusUpdates(MethodView):
    @blp.response(200, StatusUpdateSchema(many=True))
    def get(self, milestone_id):
        """The milestone's status history, newest first."""
        return milestones.history(actor(), milestone_id)

    @blp.arguments(StatusUpdateWriteSchema)
    @blp.response(201, StatusUpdateSchema)
    @blp.alt_response(412, response="PRECONDITION_FAILED")
    @blp.doc(parameters=[IF_MATCH])
    def post(self, data, milestone_id):
        """Report status with a note and evidence links (providers and the client side)."""
        update = milestones.record_update(
            actor(), milestone_id, **data, expected_version=expected_version()
        )
        response = jsonify(status_update_dumper()(update))
        response.status_code = 201
        return response
