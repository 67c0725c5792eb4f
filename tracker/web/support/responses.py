"""Small helpers the page routes share: service errors onto forms, the version field."""

from __future__ import annotations

from flask import url_for

from tracker.errors import StaleVersion, TrackerError, ValidationFailed


def apply_errors(form, error: TrackerError) -> None:
    """Show a service's field errors next to the fields (the rest above the form)."""
    form.form_errors = list(getattr(form, "form_errors", []) or [])
    form.refused_status = error.status
    if error.code == "change_request_required":
        # Issue 31: say so above the form, with the way to raise a request instead.
        form.form_errors.append(error.message)
        form.change_request_url = url_for("change_requests.new", engagement_id=error.engagement_id)
    if isinstance(error, StaleVersion):
        form.is_stale = True
        form.form_errors.append(error.message)
        return
    unplaced = []
    for name, messages in (error.errors or {}).items():
        field = getattr(form, name, None)
        if field is None or not hasattr(field, "errors"):
            unplaced.extend(messages)
            continue
        field.errors = list(field.errors or []) + list(messages)
    if unplaced or not error.errors:
        form.form_errors.extend(unplaced or [error.message])


def refused_status(form, default: int = 422) -> int:
    """The status a refused form answers with: the service error's (409 for a change that
    needs a change request), else `default`."""
    return getattr(form, "refused_status", None) or default


def is_stale(form) -> bool:
    """Whether the last save of this form was refused as stale."""
    return bool(getattr(form, "is_stale", False))


def form_version(form) -> int | None:
    """The hidden `version` field as an int; garbage is a validation error naming it."""
    raw = str(form.version.data or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ValidationFailed(
            "The form's version is not a number.", errors={"version": ["Reload the page."]}
        )
    return int(raw)
