"""Security headers on every response: CSP, framing, sniffing, referrer, caching, HSTS.

A small after-request hook rather than a library (docs/adr/0081): the policy is
one constant here, the pages satisfy it (no inline script or style anywhere),
and tests/browser/test_csp.py loads every page in Chromium with it in force.
A view that must answer under another policy (an email body shown in a
sandboxed frame) sets its own Content-Security-Policy and X-Frame-Options,
and this hook leaves them alone.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "frame-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ]
)
# Email HTML (written with inline styles, as mail clients need) is framed by the outbox
# and digest preview pages: its own document, no script at all, framed only by us.
FRAMED_EMAIL_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox"
)
HSTS = "max-age=31536000; includeSubDomains"


def framed_email(html: str) -> Response:
    """An email's HTML body as its own document, for a sandboxed same-site <iframe src>."""
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = FRAMED_EMAIL_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


def _policy() -> str:
    """The policy, with the identity providers' origins in form-action when single sign-on
    is on: the sign-in and sign-out forms post here and are redirected there, and
    Chromium checks form-action on every redirect of a form's navigation."""
    from tracker.services.signin import oidc

    origins = oidc.form_action_origins()
    if not origins:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", "form-action 'self' " + " ".join(origins)
    )


def add_security_headers(response: Response) -> Response:
    """after_request: the same headers on pages, API answers, errors and redirects."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", _policy())
    headers.setdefault("X-Frame-Options", "DENY")
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    # Everything but static files is personal or carries a session-bound CSRF token.
    if request.endpoint != "static":
        headers.setdefault("Cache-Control", "no-store")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers["Strict-Transport-Security"] = HSTS
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
