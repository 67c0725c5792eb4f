"""The REST API under /api/v1 (flask-smorest): one blueprint per resource."""

from flask import Flask, request
from flask_login import current_user

from tracker.extensions import api, csrf

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def api_modules() -> list:
    """Every API resource module; each has `blp` and `URL_PREFIX`."""
    from tracker.api import me

    return [me]


def register_api(app: Flask) -> None:
    """Register every API blueprint; session-authenticated writes still need CSRF."""
    for module in api_modules():
        csrf.exempt(module.blp)
        api.register_blueprint(module.blp, url_prefix=f"/api/v1{module.URL_PREFIX}")
    app.before_request(require_csrf_for_session_auth)


def require_csrf_for_session_auth() -> None:
    """Token clients are not browsers and need no CSRF token; cookie sessions do."""
    from tracker.auth import authenticated_by_token

    if not request.path.startswith("/api/") or request.method not in UNSAFE_METHODS:
        return
    if current_user.is_authenticated and not authenticated_by_token():
        csrf.protect()
