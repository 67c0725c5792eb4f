"""Admin pages: the email outbox (rows with status, attempts, last reply) and written .eml files."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker.core import clock
from tracker.scheduling.status import delivery_circuits
from tracker.services.workflow.workflow_registry import definition_errors
from tracker.web.support.security_headers import framed_email

bp = Blueprint("admin_outbox", __name__, url_prefix="/admin")
PER_PAGE = 50


@bp.before_request
@login_required
def admins_only():
    """Admins only; to anyone else these pages do not exist (404, as on every admin page)."""
    if not current_user.is_admin:
        abort(404)


@bp.get("/outbox")
def outbox():
    """The outbox, newest first, filterable by status; counts per status."""
    from tracker.services.messaging import outbox_admin
    from tracker.services.messaging.outbox_admin import STATUSES

    status = request.args.get("status", "")
    if status and status not in STATUSES:
        abort(400, description=f"status must be one of {', '.join(STATUSES)}")
    counts = outbox_admin.outbox_counts()
    rows = outbox_admin.outbox_rows(status, limit=PER_PAGE)
    return render_template(
        "admin_outbox/outbox.html",
        rows=rows,
        counts=counts,
        status=status,
        statuses=STATUSES,
        mail_dir=None if current_app.config.get("SMTP_HOST") else current_app.config["MAIL_DIR"],
        definition_errors=definition_errors(),
        paused=delivery_circuits().get("smtp"),
    )


@bp.post("/outbox/retry")
def outbox_retry():
    """Requeue every failed email (or one category's), like `flask outbox retry`."""
    from tracker.services.messaging import outbox_admin

    category = request.form.get("category", "")
    if category and category not in outbox_admin.outbox_categories():
        abort(400, description="category: no email has this category")
    count = outbox_admin.requeue_failed(clock.now(), category=category or None)
    flash(f"Requeued {count} failed email{'s' if count != 1 else ''}.", "success")
    return redirect(url_for("admin_outbox.outbox", status="pending"))


@bp.get("/outbox/<int:email_id>")
def outbox_email(email_id: int):
    """One email: headers, both bodies, and the .eml file when it was written to MAIL_DIR."""
    from tracker.notifications.delivery import eml_name
    from tracker.services.messaging import outbox_admin

    row = outbox_admin.outbox_email(email_id)
    if row is None:
        abort(404)
    path = Path(current_app.config["MAIL_DIR"]) / eml_name(row)
    eml = path.read_text(errors="replace") if path.is_file() else None
    return render_template("admin_outbox/outbox_email.html", row=row, eml=eml)


@bp.get("/outbox/<int:email_id>/html")
def outbox_email_html(email_id: int):
    """The HTML body alone, framed by the page above under its own policy (inline styles)."""
    from tracker.services.messaging import outbox_admin

    row = outbox_admin.outbox_email(email_id)
    if row is None or not row.html_body:
        abort(404)
    return framed_email(row.html_body)
