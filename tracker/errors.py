"""The service-layer exception tree and its one mapping to HTTP (JSON or HTML)."""

from __future__ import annotations

import logging

from flask import Flask, current_app, jsonify, render_template, request, url_for
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


class TrackerError(Exception):
    """Base of every error a service raises on purpose; carries its HTTP status."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, errors: dict | None = None, unmet: list | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.unmet = unmet or []


class Unauthorized(TrackerError):
    """Nobody is signed in and no valid token was sent."""

    status = 401
    code = "unauthorized"


class NotFound(TrackerError):
    """The thing does not exist, or this user may not know that it does."""

    status = 404
    code = "not_found"


class Forbidden(TrackerError):
    """The user may see the thing but not do this to it."""

    status = 403
    code = "forbidden"


class Conflict(TrackerError):
    """The request clashes with the current state (e.g. a guard failed)."""

    status = 409
    code = "conflict"


class GuardFailed(Conflict):
    """A transition's requirements are not met; `unmet` lists every one."""

    code = "guard_failed"


class ConcurrentUpdate(Conflict):
    """Two people changed the same thing at once; this one lost and changed nothing."""

    code = "concurrent_update"


class StaleVersion(TrackerError):
    """Somebody changed the object since this client read it."""

    status = 412
    code = "stale_version"


class ValidationFailed(TrackerError):
    """Input broke a rule; `errors` maps each field to its messages."""

    status = 422
    code = "validation_failed"


class UnsupportedMediaType(TrackerError):
    """A request body that is not JSON."""

    status = 415
    code = "unsupported_media_type"


class MissingBody(TrackerError):
    """A write that documents a JSON body arrived without one."""

    status = 400
    code = "body_required"


class TooManyAttempts(TrackerError):
    """Sign-in (form or API token) refused for a while after repeated failures."""

    status = 429
    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class BodyTooDeep(TrackerError):
    """A JSON body nested deeper than any operation needs (MAX_JSON_DEPTH)."""

    status = 400
    code = "json_too_deep"


def error_body(status: int, code: str, message: str, errors=None, unmet=None) -> dict:
    """The single JSON error shape used by every endpoint."""
    return {
        "status": status,
        "code": code,
        "message": message,
        "errors": errors or {},
        "unmet": unmet or [],
    }


def wants_json() -> bool:
    """API paths and clients that prefer JSON get JSON; browsers get pages."""
    if request.path.startswith("/api/") or request.path == "/healthz":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _render(status: int, code: str, message: str, errors=None, unmet=None, headers=None):
    if wants_json():
        response = jsonify(error_body(status, code, message, errors, unmet))
    elif status == 503:
        # A busy database cannot draw the shared layout, nor run the context processors
        # (they load who is signed in): the page is drawn from its template alone.
        template = current_app.jinja_env.get_template("shared/unavailable.html")
        page = template.render(status=status, message=message, request=request, url_for=url_for)
        return page, status, headers or {}
    else:
        page = render_template("shared/error.html", status=status, message=message, unmet=unmet)
        return page, status, headers or {}
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def handle_tracker_error(error: TrackerError):
    unmet = [_unmet_dict(u) for u in error.unmet]
    headers = {"WWW-Authenticate": 'Bearer realm="api"'} if error.status == 401 else None
    if isinstance(error, TooManyAttempts):
        headers = {"Retry-After": str(error.retry_after)}
    return _render(error.status, error.code, error.message, error.errors, unmet, headers)


def _unmet_dict(unmet) -> dict:
    if isinstance(unmet, dict):
        return unmet
    return {"code": unmet.code, "message": unmet.message, "ref": unmet.ref}


def handle_http_exception(error: HTTPException):
    """Werkzeug and flask-smorest errors, reshaped into our error body."""
    status = error.code or 500
    code = (error.name or "error").lower().replace(" ", "_")
    errors = _webargs_messages(error)
    message = error.description or error.name
    if errors:
        code, message = "validation_failed", "The request has invalid fields; see errors."
    headers = dict(error.get_response().headers)
    keep = {k: v for k, v in headers.items() if k in ("Allow", "WWW-Authenticate", "Retry-After")}
    return _render(status, code, message, errors, None, keep)


def _webargs_messages(error: HTTPException) -> dict:
    """Flatten webargs' {location: {field: [..]}} to {field: [..]}."""
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or {}
    flat: dict = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            flat.update(fields)
        else:
            flat[location] = fields
    return flat


def handle_integrity_error(error):
    """A constraint the services did not foresee: refuse cleanly, never a 500."""
    _rollback()
    log.warning("constraint violation: %s", getattr(error, "orig", error))
    return _render(
        409,
        "constraint_violation",
        "That conflicts with data that already exists; nothing was saved.",
    )


def handle_data_error(error):
    """A value the database cannot store (too long, out of range): bad input, not a bug."""
    _rollback()
    log.warning("data error: %s", getattr(error, "orig", error))
    return _render(422, "invalid_value", "A value is too long or out of range; nothing was saved.")


# SQLSTATEs that say "not now" rather than "never": a lost or refused connection (class 08,
# 57P01-57P03 shutdown or start-up, 53300 too many connections), a transaction the server
# rolled back to break a deadlock or a serialisation conflict (class 40), a lock not
# granted in time (55P03), a statement cancelled by its timeout (57014).
_TRY_AGAIN_STATES = ("08", "40", "53300", "55P03", "57014", "57P01", "57P02", "57P03")
RETRY_AFTER_SECONDS = 2


def database_busy(error: Exception) -> bool:
    """Whether a database error means "busy or unreachable, try again" (a 503), not a bug:
    no pooled connection free within the pool's timeout, a connection lost, SQLite's
    write lock held past its busy timeout, or one of the SQLSTATEs above."""
    from sqlalchemy.exc import DBAPIError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(error, PoolTimeout):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    state = getattr(error.orig, "sqlstate", None) or ""
    if state.startswith(_TRY_AGAIN_STATES):
        return True
    message = str(error.orig).lower()
    return isinstance(error, OperationalError) and (
        "database is locked" in message or "database is busy" in message
    )


def handle_unexpected(error: Exception):
    """Anything else is a bug: log it, answer 500 in the same shape."""
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    if database_busy(error):
        _rollback()
        log.warning("database busy or unreachable: %s", error)
        return _render(
            503,
            "database_busy",
            "The database is busy or unreachable right now; nothing was saved. Try again shortly.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    log.exception("unhandled error", exc_info=error)
    _rollback()
    wrapped = InternalServerError()
    return _render(500, "internal_error", wrapped.description)


def _rollback() -> None:
    from tracker.extensions import db

    try:
        db.session.rollback()
    except Exception:  # the original error matters more than this one
        log.exception("rollback after error failed")


def init_app(app: Flask) -> None:
    """Register the handlers; later registrations replace flask-smorest's own."""
    from sqlalchemy.exc import DataError, IntegrityError

    app.register_error_handler(TrackerError, handle_tracker_error)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.register_error_handler(DataError, handle_data_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
