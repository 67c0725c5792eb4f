"""Admin pages for outgoing webhooks: endpoints, the secret shown once, the delivery log."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker.errors import ValidationFailed
from tracker.schemas.webhook import EVENT_TYPES
from tracker.services.messaging import webhooks

bp = Blueprint("webhooks_admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def admins_only():
    """Admins only; to anyone else these pages do not exist (404, as on every admin page)."""
    if not current_user.is_admin:
        abort(404)


@bp.get("/webhooks")
def index():
    """Every endpoint with its delivery counts, and the form to register one."""
    return _index()


def _index(**context):
    endpoints = webhooks.list_endpoints(current_user)
    counts = webhooks.delivery_counts([e.id for e in endpoints])
    return render_template(
        "webhooks_admin/index.html",
        endpoints=endpoints,
        counts=counts,
        event_types=EVENT_TYPES,
        **context,
    )


@bp.post("/webhooks")
def create():
    """Register an endpoint and show its secret on this response only."""
    data = {
        "url": (request.form.get("url") or "").strip(),
        "description": (request.form.get("description") or "").strip()[:500],
        "events": request.form.getlist("events"),
    }
    try:
        endpoint = webhooks.create_endpoint(current_user, data)
    except ValidationFailed as error:
        return _index(errors=error.errors, form=data), 422
    return _show(endpoint.id, secret=endpoint.secret)


@bp.get("/webhooks/<int:endpoint_id>")
def show(endpoint_id: int):
    """One endpoint and its latest deliveries."""
    return _show(endpoint_id)


def _show(endpoint_id: int, **context):
    endpoint = webhooks.get_endpoint(current_user, endpoint_id)
    deliveries = webhooks.list_deliveries(current_user, endpoint_id)
    return render_template(
        "webhooks_admin/show.html", endpoint=endpoint, deliveries=deliveries, **context
    )


@bp.post("/webhooks/<int:endpoint_id>/test")
def send_test(endpoint_id: int):
    """Queue a test event; the scheduler's next tick delivers it."""
    webhooks.send_test_event(current_user, endpoint_id)
    flash("Test event queued; it goes out with the next scheduler tick.", "success")
    return redirect(url_for("webhooks_admin.show", endpoint_id=endpoint_id))


@bp.post("/webhooks/<int:endpoint_id>/rotate")
def rotate(endpoint_id: int):
    """A new secret, shown once; the old one keeps signing for 24 hours."""
    endpoint = webhooks.rotate_secret(current_user, endpoint_id)
    return _show(endpoint.id, secret=endpoint.secret)


@bp.post("/webhooks/<int:endpoint_id>/toggle")
def toggle(endpoint_id: int):
    """Enable or disable the endpoint."""
    endpoint = webhooks.get_endpoint(current_user, endpoint_id)
    webhooks.update_endpoint(current_user, endpoint_id, {"is_enabled": not endpoint.is_enabled})
    return redirect(url_for("webhooks_admin.show", endpoint_id=endpoint_id))


@bp.post("/webhooks/<int:endpoint_id>/delete")
def delete(endpoint_id: int):
    """Remove the endpoint and its log."""
    webhooks.delete_endpoint(current_user, endpoint_id)
    flash("Webhook endpoint removed.", "success")
    return redirect(url_for("webhooks_admin.index"))


@bp.post("/webhook-deliveries/<int:delivery_id>/redeliver")
def redeliver(delivery_id: int):
    """Send one delivery again with the same webhook-id."""
    delivery = webhooks.redeliver(current_user, delivery_id)
    flash("Delivery queued again.", "success")
    return redirect(url_for("webhooks_admin.show", endpoint_id=delivery.endpoint_id))
