"""Evidence pages: the scorecard, and the engagement page's forms for metrics, targets and
measurements (each posts, calls one service, and comes back to the page's Evidence card).

A refused form comes back as the engagement page with a 422 and the message naming the
field; nothing was stored.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker.core import clock
from tracker.errors import Conflict, ValidationFailed
from tracker.services.change_requests.rules import ChangeRequestRequired
from tracker.services.evidence import measurements, metrics, scorecard
from tracker.web.engagements import render_engagement
from tracker.web.support.typed_forms import TypedForm

bp = Blueprint("evidence", __name__)
# the measurement form asks for a day; the service names the instant it makes of it
MEASUREMENT_FIELDS = {"measured_at": "measured_on"}


@bp.get("/engagements/<int:engagement_id>/scorecard")
@login_required
def show_scorecard(engagement_id: int):
    """Per period, each milestone × target: baseline → target, latest, trend, verdicts."""
    card = scorecard.build(current_user, engagement_id, clock.now().date())
    return render_template("evidence/scorecard.html", card=card, today=clock.now().date())


def _number(name: str):
    """A form field as a float, or the text itself (the service names it as not a number)."""
    raw = (request.form.get(name) or "").strip()
    if raw == "":
        return None
    try:
        return float(raw.replace(",", ""))
    except ValueError:
        return raw


def _refused(
    engagement_id: int, error: ValidationFailed | Conflict, form: str, fields: dict | None = None
):
    """The engagement page again with the refused form as typed, each message beside its
    field (ADR 0175); `fields` maps a service's field name to the form's."""
    details = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.errors.items())
    flash(f"{error.message} {details}".strip(), "error")
    typed = TypedForm.refused(form, request.form, error, fields)
    return render_engagement(engagement_id, status=error.status, typed_evidence=typed)


def _back(engagement_id: int):
    return redirect(url_for("engagements.show", engagement_id=engagement_id) + "#evidence")


@bp.post("/engagements/<int:engagement_id>/metrics")
@login_required
def add_metric(engagement_id: int):
    """A manager defines a success metric."""
    form = request.form
    data = {k: (form.get(k) or "").strip() for k in ("name", "kind", "unit", "direction")}
    data |= {"source_note": (form.get("source_note") or "").strip()}
    if (baseline := _number("baseline")) is not None:
        data["baseline"] = baseline
    try:
        metric = metrics.create_metric(current_user, engagement_id, data)
    except ValidationFailed as error:
        return _refused(engagement_id, error, "add-metric")
    flash(f"Success metric '{metric.name}' defined.", "success")
    return _back(engagement_id)


@bp.post("/metrics/<int:metric_id>/measurements")
@login_required
def add_measurement(metric_id: int):
    """A provider, manager or admin records a measurement."""
    metric, engagement = metrics.metric_for(current_user, metric_id)
    item = {"value": _number("value"), "note": (request.form.get("note") or "").strip()}
    if url := (request.form.get("evidence_url") or "").strip():
        item["evidence_url"] = url
    if when := (request.form.get("measured_on") or "").strip():
        try:
            day = datetime.fromisoformat(when).date()
            item["measured_at"] = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        except ValueError:
            error = ValidationFailed("Give a date.", errors={"measured_at": ["Not a date."]})
            return _refused(engagement.id, error, f"measure-{metric.id}", MEASUREMENT_FIELDS)
    try:
        measurements.record_one(current_user, metric.id, item)
    except (ValidationFailed, Conflict) as error:
        return _refused(engagement.id, error, f"measure-{metric.id}", MEASUREMENT_FIELDS)
    flash(f"Measurement of '{metric.name}' recorded.", "success")
    return _back(engagement.id)


@bp.post("/engagements/<int:engagement_id>/targets")
@login_required
def set_target(engagement_id: int):
    """A manager sets a milestone's target for one of the engagement's metrics."""
    milestone_id, metric_id = (_id(request.form.get(k)) for k in ("milestone_id", "metric_id"))
    try:
        metrics.set_target(current_user, milestone_id, metric_id, _number("target"))
    except (ValidationFailed, ChangeRequestRequired) as error:
        return _refused(engagement_id, error, "set-target")
    flash("Target set.", "success")
    return _back(engagement_id)


def _id(raw: str | None) -> int:
    """A posted id; anything else becomes 0, which matches nothing (a 404 or a 422)."""
    return int(raw) if raw and raw.isdigit() and len(raw) < 10 else 0
