"""The admin page that exports the deployment's audit trail (CSV or JSON Lines), with
filters by days, actor, engagement, provider and kind. Admins and auditors (404 to others)."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    render_template,
    request,
    stream_with_context,
)
from flask_login import current_user, login_required

from tracker.core import clock
from tracker.errors import ValidationFailed
from tracker.services.audit_export import export
from tracker.web.support import person_picker

bp = Blueprint("admin_audit", __name__, url_prefix="/admin")
FORMATS = {"csv": "text/csv", "jsonl": "application/jsonl"}


@bp.before_request
@login_required
def exporters_only():
    if not current_user.can_export_audit:
        abort(404)


@bp.get("/audit")
def index():
    """The filter form; its two buttons download the selection in either format."""
    return _page()


def _page(errors: dict | None = None, status: int = 200):
    page = render_template(
        "admin_audit/audit_export.html",
        providers=export.organisations(current_user),
        kinds=export.kinds_in_use(current_user),
        form=request.args,
        errors=errors,
    )
    return page, status


ACTOR_NOT_FOUND = "Choose someone from the list (name and email), or type their email."


@bp.get("/audit/actors")
def actor_suggestions():
    """Suggestions for the actor picker: `q`, `page` (20 a page), JSON like /pickers."""
    return person_picker.suggestions(
        lambda text, page: export.actor_suggestions(current_user, text, page)
    )


@bp.get("/audit/export.<any(csv, jsonl):fmt>")
def download(fmt: str):
    """Stream the selection; bad filters come back on the page, named, with 422."""
    args = request.args.copy()
    args["actor_id"] = export.actor_id_text(current_user, args.get("actor_id", ""))
    unknown = {}
    if args["actor_id"] and not args["actor_id"].isdigit():
        unknown = {"actor_id": [ACTOR_NOT_FOUND]}
    try:
        flt = export.parse_filter(args)
    except ValidationFailed as error:
        return _page({**error.errors, **unknown}, 422)
    if unknown:
        return _page(unknown, 422)
    writer = export.export_csv if fmt == "csv" else export.export_jsonl
    chunks = writer(current_user._get_current_object(), flt)
    response = Response(stream_with_context(chunks), content_type=f"{FORMATS[fmt]}; charset=utf-8")
    name = f"audit-{clock.now().date().isoformat()}.{fmt}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response
