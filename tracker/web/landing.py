"""Landing pages: the dashboard, the engagements list and a provider's milestones."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker.core import clock
from tracker.services.administration import users
from tracker.services.read_model import dashboard as dashboard_service
from tracker.web.support import person_picker
from tracker.web.support.forms import MilestoneUpdateForm
from tracker.web.support.row_links import url_by_id

bp = Blueprint("landing", __name__)


@bp.get("/")
@login_required
def index():
    """Providers land on their milestones; everyone else on the dashboard."""
    if current_user.is_provider:
        return redirect(url_for("landing.my_milestones"))
    return redirect(url_for("landing.dashboard"))


@bp.get("/home")
@login_required
def home():
    """A plain welcome page (kept: bookmarks and the test helpers use it)."""
    return render_template("landing/home.html")


@bp.get("/dashboard")
@login_required
def dashboard():
    """Every live engagement the user may see, with counts, filters and sorting in the URL."""
    if current_user.is_provider:
        return redirect(url_for("landing.engagements", **request.args))
    query = dashboard_service.parse_query(request.args)
    board = dashboard_service.build_dashboard(current_user, query)
    return _render_list("landing/dashboard.html", board)


@bp.get("/engagements")
@login_required
def engagements():
    """The engagements list (a provider sees only their organisation's)."""
    query = dashboard_service.parse_query(request.args)
    board = dashboard_service.build_dashboard(current_user, query)
    return _render_list("landing/engagements.html", board)


def _render_list(template: str, board) -> str:
    """A page with the engagement table (landing/_engagement_table.html)."""
    today = clock.now().date()
    return render_template(template, board=board, today=today, url_by_id=url_by_id)


@bp.get("/pickers/<kind>")
@login_required
def picker_choices(kind: str):
    """Suggestions for the owner or provider filter: `q` (part of a name), `page` (20 a
    page). JSON; only names of engagements the user may see; a bad value is a 422.
    `person`: the client side's people for the forms that pick one (a shadow, who did or
    observed a drill), offered to the client side only (issue 29)."""
    if kind not in (*dashboard_service.PICKER_KINDS, "person"):
        abort(404)
    if kind == "person" and not current_user.is_client_side:
        abort(404)
    if kind == "person":
        return person_picker.suggestions(users.internal_person_choices, kind=kind)
    return person_picker.suggestions(
        lambda text, page: dashboard_service.picker_choices(current_user, kind, text, page),
        kind=kind,
    )


@bp.get("/my-milestones")
@login_required
def my_milestones():
    """A provider's open milestones across their engagements, due soonest first."""
    from tracker.services.delivery import milestones as milestone_service

    milestones = milestone_service.my_milestones(current_user)
    forms = {m.id: MilestoneUpdateForm(prefix=f"m{m.id}", status=m.status) for m in milestones}
    return render_my_milestones(milestones, forms)


def render_my_milestones(milestones, forms) -> str:
    """The page with each milestone's status weighed against its judged targets (the
    evidence read once for the page, whatever the number of milestones)."""
    from tracker.services.evidence.reads import displayed_many

    today = clock.now().date()
    shown = displayed_many(milestones, current_user, today)
    return render_template(
        "landing/my_milestones.html", milestones=milestones, forms=forms, shown=shown, today=today
    )
