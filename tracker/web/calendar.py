"""The "Calendar" page (URL, copy, rotate, scope) and the secret .ics feeds calendar clients poll.

The feeds need no login: the URL's secret is the credential. A client polling an
unchanged feed costs two small queries (the secret's look-up and one aggregate probe)
and gets 304 Not Modified.
"""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker.errors import ValidationFailed
from tracker.services.exchange import calendar_events, calendar_feed

bp = Blueprint("calendar", __name__)
ICS_TYPE = "text/calendar; charset=utf-8"


@bp.get("/calendar")
@login_required
def index():
    """The user's feed URL, shown with a copy button, and the rotate and scope forms."""
    return _page()


@bp.post("/calendar/rotate")
@login_required
def rotate():
    """A new secret: calendars subscribed to the old URL stop getting updates at once."""
    calendar_feed.rotate_feed(current_user)
    return redirect(url_for("calendar.index", rotated=1))


@bp.post("/calendar/scope")
@login_required
def scope():
    """Managers choose between their own and followed engagements, or all of them."""
    try:
        calendar_feed.set_scope(current_user, (request.form.get("scope") or "").strip())
    except ValidationFailed as error:
        return _page(errors=error.errors), error.status
    return redirect(url_for("calendar.index"))


def _page(**context):
    feed = calendar_feed.get_or_create_feed(current_user)
    return render_template(
        "calendar/index.html",
        feed=feed,
        url=calendar_feed.feed_url(feed),
        rotated=request.args.get("rotated") == "1",
        **context,
    )


@bp.get("/calendar/<secret>.ics")
def feed(secret: str):
    """The user's personal feed (404 for an unknown or rotated secret)."""
    return _feed_response(secret, None)


@bp.get("/calendar/<secret>/engagements/<int(min=1, max=2147483647):engagement_id>.ics")
def engagement_feed(secret: str, engagement_id: int):
    """One engagement's events, for managers and admins who may see it."""
    return _feed_response(secret, engagement_id)


def _feed_response(secret: str, engagement_id: int | None) -> Response:
    feed = calendar_feed.feed_for_secret(secret)
    scope = calendar_feed.scope_for(feed, engagement_id)
    probe = calendar_feed.freshness(scope)
    etag = calendar_feed.etag_for(feed, scope, probe)
    modified = calendar_feed.last_modified(feed, probe)
    response = Response(status=304)
    if not _is_fresh(etag, modified):
        name = f"Engagement Tracker — {feed.user.name}"
        response = Response(calendar_events.render_feed(scope, name), content_type=ICS_TYPE)
    response.set_etag(etag)
    response.last_modified = modified
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _is_fresh(etag: str, modified) -> bool:
    """RFC 9110: If-None-Match decides when present, else If-Modified-Since."""
    if request.if_none_match:
        return request.if_none_match.contains(etag)
    since = request.if_modified_since
    return since is not None and modified.replace(microsecond=0) <= since
