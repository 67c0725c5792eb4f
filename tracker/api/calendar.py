"""/api/v1/me/calendar: the caller's iCalendar feed URL (made on first use), scope, rotation."""

from flask.views import MethodView

from tracker.api.common import Blueprint, actor, protected
from tracker.schemas.calendar import CalendarFeedSchema, CalendarScopeSchema
from tracker.services.exchange import calendar_feed

URL_PREFIX = "/me/calendar"
blp = protected(Blueprint("Calendar", __name__, description="Personal calendar feed"))


def _body(feed) -> dict:
    return {
        "url": calendar_feed.feed_url(feed),
        "scope": feed.scope,
        "created_at": feed.created_at,
        "rotated_at": feed.rotated_at,
    }


@blp.route("")
class CalendarFeedItem(MethodView):
    @blp.response(200, CalendarFeedSchema)
    def get(self):
        """Your feed's address (made on first use); subscribe to it in any calendar app."""
        return _body(calendar_feed.get_or_create_feed(actor()))

    @blp.arguments(CalendarScopeSchema)
    @blp.response(200, CalendarFeedSchema)
    def patch(self, data):
        """Managers and admins: "mine" (owned or followed engagements) or "all"."""
        return _body(calendar_feed.set_scope(actor(), data["scope"]))


@blp.route("/rotate")
class CalendarFeedRotation(MethodView):
    @blp.response(200, CalendarFeedSchema)
    def post(self):
        """A new address; the previous one answers 404 from now on."""
        return _body(calendar_feed.rotate_feed(actor()))
