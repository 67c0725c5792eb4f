"""Provider records: the organisations' index and each one's record built from evidence.

Managers, admins and stakeholders see every organisation (counted over the engagements
they may see); a provider user is taken to their own organisation's record and any other
answers 404, exactly like one that does not exist. Every number links to the
engagements behind it (`/providers/<id>/engagements?figure=…`).
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker.core import clock
from tracker.services.portfolio import record as records

bp = Blueprint("providers", __name__)


@bp.get("/providers")
@login_required
def index():
    """Every organisation with engagements the user may see; a provider goes to its own."""
    if current_user.is_provider:
        return redirect(url_for("providers.show", provider_id=current_user.provider_id or 0))
    return render_template("providers/index.html", providers=records.provider_index(current_user))


@bp.get("/providers/<int:provider_id>")
@login_required
def show(provider_id: int):
    """The organisation's record: states and outcomes, milestones, staff, readiness, cost."""
    record = records.provider_record(current_user, provider_id, clock.now().date())
    return render_template("providers/show.html", record=record)


@bp.get("/providers/<int:provider_id>/engagements")
@login_required
def behind(provider_id: int):
    """The engagements behind one figure of the record, 50 a page."""
    page = request.args.get("page", "1")
    if not page.isdigit() or int(page) < 1:
        abort(404)
    record, figure, rows = records.engagements_behind(
        current_user,
        provider_id,
        request.args.get("figure", ""),
        clock.now().date(),
        page=int(page),
    )
    return render_template(
        "providers/behind.html", record=record, figure=figure, rows=rows, page=int(page)
    )
