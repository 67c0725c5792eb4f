"""The portfolio page: health, spend and trials across the engagements, as pictures with
their data tables; the dashboard's filters (provider, owner, state) in the URL."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from tracker.core import clock
from tracker.services.portfolio import figures, hiring, scope
from tracker.web.support import portfolio_charts as charts

bp = Blueprint("portfolio", __name__)


@bp.get("/portfolio")
@login_required
def show():
    """Managers, admins and stakeholders; a provider gets 404 (service-side)."""
    scope.require_portfolio_viewer(current_user)
    query = scope.parse_filters(request.args)
    view = figures.build_portfolio(current_user, query, clock.now().date())
    pictures = {
        "health": charts.health_area_svg(view.health),
        "trials": charts.trials_svg(view.trials, view.outcomes),
        "spend": {c: charts.spend_svg(m, c) for c, m in (view.spend or {}).items()},
    }
    choices = scope.filter_choices(current_user, query)
    return render_template(
        "portfolio/show.html", view=view, pictures=pictures, choices=choices, charts=charts
    )


@bp.get("/engagements/<int:engagement_id>/hiring-evaluation")
@login_required
def hiring_evaluation(engagement_id: int):
    """Cost to date against an in-house equivalent; 404 for who may not see cost."""
    comparison = hiring.hiring_comparison(current_user, engagement_id, clock.now().date())
    return render_template("portfolio/hiring.html", comparison=comparison)
