"""The /admin area, as one thing to guard: it does not exist for anyone but an admin.

Each admin blueprint answers 404 to signed-in non-admins, but three answers came before
the blueprint's guard and told the pages apart from a missing one: 405 with an `Allow`
header for the wrong method on a real URL, 400 from the CSRF check on a POST without a
token, and the sign-in redirect for signed-out visitors (a missing /admin page said
404). This hook runs before all of them (and before CSRFProtect's own hook), for every
path under /admin, real or not: a signed-out visitor is sent to sign in, a signed-in
non-admin gets the 404 page. So whatever the URL and method, nobody but an admin can
tell what exists there.
"""

from __future__ import annotations

from flask import Flask, abort, current_app, request
from flask_login import current_user

PREFIX = "/admin"


def guard():
    path = request.path
    if path != PREFIX and not path.startswith(PREFIX + "/"):
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()  # Flask-Login's sign-in redirect
    if not current_user.is_admin and not _auditors_page(path):
        abort(404)
    return None


def _auditors_page(path: str) -> bool:
    """The audit export is an auditor's page too (ADR 0228); the rest of /admin is not."""
    audit = PREFIX + "/audit"
    return current_user.can_export_audit and (path == audit or path.startswith(audit + "/"))


def init_app(app: Flask) -> None:
    """Run `guard` first of all the app's before-request hooks."""
    app.before_request_funcs.setdefault(None, []).insert(0, guard)
