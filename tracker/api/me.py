"""GET /api/v1/me: who the caller is."""

from flask.views import MethodView
from flask_login import current_user, login_required

from tracker.api.common import Blueprint
from tracker.schemas.user import MeSchema

URL_PREFIX = "/me"
blp = Blueprint("me", __name__, description="The signed-in user")


@blp.route("")
class Me(MethodView):
    decorators = [login_required]

    @blp.response(200, MeSchema)
    def get(self):
        """The caller's profile: name, role, provider organisation, time zone."""
        return current_user
