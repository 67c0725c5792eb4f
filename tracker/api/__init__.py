"""The REST API under /api/v1 (flask-smorest): one blueprint per resource.

To add a resource: write tracker/schemas/<resource>.py and
tracker/api/<resource>.py (with `blp` and `URL_PREFIX`; copy engagements.py),
then list the module in `api_modules()`.
"""

import re

from flask import Flask, current_app, request
from flask_login import current_user

from tracker.auth import ingest_token
from tracker.extensions import api, csrf

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
BODY_METHODS = {"POST", "PUT", "PATCH"}
# JSON strings (with escapes) are skipped; only brackets outside them count for depth.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


def api_modules() -> list:
    """Every API resource module; each has `blp` and `URL_PREFIX`."""
    from tracker.api import (
        adrs,
        artifacts,
        audit,
        audit_export,
        calendar,
        change_requests,
        checklists,
        engagements,
        evidence,
        exports,
        handover,
        me,
        milestones,
        provider_records,
        providers,
        shadows,
        subscriptions,
        team,
        tokens,
        transitions,
        users,
        webhooks,
        workflows,
    )

    resources = [me, tokens, engagements, team, checklists, milestones, transitions, audit]
    resources.append(evidence)
    resources.append(change_requests)
    resources.append(provider_records)
    admin = [webhooks, users, providers, audit_export]
    others = [subscriptions, adrs, shadows, handover, artifacts, calendar, exports, workflows]
    return [*resources, *others, *admin]


def register_api(app: Flask) -> None:
    """Register every API blueprint; session-authenticated writes still need CSRF."""
    document_errors_and_auth()
    for module in api_modules():
        csrf.exempt(module.blp)
        api.register_blueprint(module.blp, url_prefix=f"/api/v1{module.URL_PREFIX}")
    api.defer_documentation(lambda: document_configured_rules(app))
    app.before_request(throttle_bearer_tokens)
    app.before_request(refuse_non_json_bodies)
    app.before_request(require_csrf_for_session_auth)


def document_errors_and_auth() -> None:
    """Make the spec describe our error body and both ways to authenticate.

    flask-smorest registers its own error schema when the Api is bound to the
    app; we swap in ours (the body tracker.errors really sends) before any
    operation refers to it.
    """
    from tracker.schemas.common import ApiErrorSchema

    api.ERROR_SCHEMA = ApiErrorSchema
    api.spec.components.responses_lazy.clear()
    api.spec.components.schemas.pop("Error", None)  # flask-smorest's, now unused
    api._register_responses()
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "flask tokens create"}
    )
    api.spec.components.security_scheme(
        "sessionCookie", {"type": "apiKey", "in": "cookie", "name": "session"}
    )
    api.spec.options["security"] = [{"bearerAuth": []}, {"sessionCookie": []}]


def document_configured_rules(app: Flask) -> None:
    """Write into the document the checks that depend on the configuration or on two
    fields together, so it states what the server enforces (issue 28 item 5)."""
    from tracker.schemas.common import MAX_ID
    from tracker.schemas.user import ROLES
    from tracker.schemas.webhook import URL_PATTERN

    schemas = api.spec.components.schemas
    user = schemas["UserCreate"]
    shortest = int(app.config["PASSWORD_MIN_LENGTH"])
    user["properties"]["password"]["pattern"] = f"^$|^[^\\x00]{{{shortest},}}$"
    provider_id = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    others = [r for r in ROLES if r != "provider"]
    user["oneOf"] = [  # a provider user names their organisation; nobody else has one
        {
            "properties": {"role": {"enum": ["provider"]}, "provider_id": provider_id},
            "required": ["role", "provider_id"],
        },
        {
            "properties": {
                "role": {"enum": others},
                "provider_id": {"type": "integer", "nullable": True, "enum": [None]},
            },
            "required": ["role"],
        },
    ]
    if app.config.get("WEBHOOK_REQUIRE_HTTPS"):
        https_only = URL_PATTERN.replace("[Ss]?", "[Ss]", 1)
        for name in ("WebhookWrite", "WebhookUpdate"):
            schemas[name]["properties"]["url"]["pattern"] = https_only


def throttle_bearer_tokens() -> None:
    """A Bearer token that matches nothing counts as a failure of the client's address
    (services/signin/throttle.py); from a locked address such tokens get 429. A valid
    token is never refused, whatever other requests from its address did (ADR 0193).
    The 401 for a bad token is left to the resource."""
    from tracker.services.signin import throttle

    header = request.headers.get("Authorization", "")
    if not request.path.startswith("/api/") or not header.lower().startswith("bearer "):
        return
    if (request.endpoint or "").startswith("api-docs."):
        return  # the OpenAPI document and docs page are public; a token there proves nothing
    if current_user.is_authenticated or ingest_token() is not None:
        return
    throttle.refuse_failed_credential(request.remote_addr)


def refuse_non_json_bodies() -> None:
    """A request body on the API must be JSON (else 415) and present where one is documented
    (else 400): webargs would read a missing body as {} and accept it."""
    from tracker.errors import MissingBody, UnsupportedMediaType

    if not request.path.startswith("/api/") or request.method not in BODY_METHODS:
        return
    if not current_user.is_authenticated and ingest_token() is None:
        return  # the resource's own hook answers 401 first
    has_body = (request.content_length or 0) > 0 or request.headers.get("Transfer-Encoding")
    if has_body and not request.is_json:
        raise UnsupportedMediaType("Send the request body as application/json.")
    if not has_body and _documents_a_required_body():
        raise MissingBody("This request needs a JSON body.", errors={"body": ["Missing."]})
    if has_body:
        _refuse_deep_json(request.get_data(cache=True), current_app.config["MAX_JSON_DEPTH"])


def _refuse_deep_json(body: bytes, limit: int) -> None:
    """400 before parsing when nesting passes `limit`: the parsers recurse, and 1,000
    levels raised RecursionError (a 500). Stops counting at the first level too many."""
    from tracker.errors import BodyTooDeep

    depth = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub(b'""', body)):
        depth += 1 if bracket in (b"[", b"{") else -1
        if depth > limit:
            raise BodyTooDeep(
                f"The JSON body is nested more than {limit} levels deep.",
                errors={"body": [f"Nest at most {limit} levels."]},
            )


def _documents_a_required_body() -> bool:
    """Whether the matched view declares a required JSON body (flask-smorest's @arguments)."""
    view = current_app.view_functions.get(request.endpoint or "")
    method = getattr(getattr(view, "view_class", None), request.method.lower(), None)
    params = getattr(method, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    return any(p.get("in") == "json" and p.get("required") for p in params)


def require_csrf_for_session_auth() -> None:
    """Token clients are not browsers and need no CSRF token; cookie sessions do."""
    from tracker.auth import authenticated_by_token

    if not request.path.startswith("/api/") or request.method not in UNSAFE_METHODS:
        return
    if current_user.is_authenticated and not authenticated_by_token():
        csrf.protect()
