"""/api/v1 artifacts (runbooks and other links) and the knowledge-retention readiness score."""

from flask.views import MethodView

from tracker.api.common import ID, Blueprint, actor, dump, protected
from tracker.schemas.artifact import ArtifactSchema, ArtifactWriteSchema, ReadinessSchema
from tracker.services.judgments import readiness
from tracker.services.knowledge import artifacts

URL_PREFIX = ""
blp = protected(Blueprint("Knowledge", __name__, description="Artifacts and readiness"))


@blp.route(f"/engagements/<{ID}:engagement_id>/artifacts")
class Artifacts(MethodView):
    @blp.response(200, ArtifactSchema(many=True))
    def get(self, engagement_id):
        """Runbooks, overviews, recordings and other links."""
        return artifacts.list_artifacts(actor(), engagement_id)

    @blp.arguments(ArtifactWriteSchema)
    @blp.response(201, ArtifactSchema)
    def post(self, data, engagement_id):
        """Attach a link."""
        artifact = artifacts.add_artifact(actor(), engagement_id, data)
        return dump(ArtifactSchema(), artifact, status=201)


@blp.route(f"/artifacts/<{ID}:artifact_id>")
class ArtifactItem(MethodView):
    @blp.response(200, ArtifactSchema)
    def get(self, artifact_id):
        return artifacts.get_artifact(actor(), artifact_id)

    @blp.response(204)
    def delete(self, artifact_id):
        """Remove a link (provider users: only links they added)."""
        artifacts.remove_artifact(actor(), artifact_id)


@blp.route(f"/engagements/<{ID}:engagement_id>/readiness")
class Readiness(MethodView):
    @blp.response(200, ReadinessSchema)
    def get(self, engagement_id):
        """Knowledge-retention readiness: score, breakdown and every gap the close guard sees."""
        return readiness.readiness_for(actor(), engagement_id)
