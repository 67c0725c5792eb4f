"""The engagement read model, built once per request.

The engagement page's sections (the overview, the knowledge panel, the handover card) each
ask for the engagement's facts; the first asks `engagement_page.engagement_view` and the
rest get the same object from `flask.g`, so every section and every judgment on the page
reads the same rows, read once (ADR 0230). Services cannot hold this: they import no Flask.
"""

from __future__ import annotations

from flask import g

from tracker.core import clock
from tracker.models import Engagement
from tracker.services.read_model.engagement_page import EngagementView, engagement_view


def view_for(engagement: Engagement) -> EngagementView:
    """This request's view of the engagement (read on first use; the caller has checked
    that the signed-in user may see it)."""
    views: dict[int, EngagementView] = g.setdefault("engagement_views", {})
    view = views.get(engagement.id)
    if view is None or view.engagement is not engagement:
        view = views[engagement.id] = engagement_view(engagement, clock.now().date())
    return view
