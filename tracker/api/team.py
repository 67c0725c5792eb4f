"""/api/v1/engagements/<id>/team and /api/v1/team-members/<id>: the engagement's people."""

from flask.views import MethodView

from tracker.api.common import ID, Blueprint, actor, dump, no_content, protected
from tracker.schemas.team import TeamMemberSchema, TeamMemberUpdateSchema, TeamMemberWriteSchema
from tracker.services.staffing import team

URL_PREFIX = ""
blp = protected(Blueprint("Team", __name__, description="Team members"))


@blp.route(f"/engagements/<{ID}:engagement_id>/team")
class Team(MethodView):
    @blp.response(200, TeamMemberSchema(many=True))
    def get(self, engagement_id):
        """Everyone on the engagement, external and internal."""
        return team.list_members(actor(), engagement_id)

    @blp.arguments(TeamMemberWriteSchema)
    @blp.response(201, TeamMemberSchema)
    def post(self, data, engagement_id):
        """Add a member (admins and managers)."""
        return dump(TeamMemberSchema(), team.add_member(actor(), engagement_id, data), status=201)


@blp.route(f"/team-members/<{ID}:member_id>")
class TeamMemberItem(MethodView):
    @blp.arguments(TeamMemberUpdateSchema)
    @blp.response(200, TeamMemberSchema)
    def patch(self, data, member_id):
        """Change a member's role, allocation, areas or dates."""
        return team.update_member(actor(), member_id, data)

    @blp.response(204)
    def delete(self, member_id):
        """Take a member off the team."""
        team.remove_member(actor(), member_id)
        return no_content()
