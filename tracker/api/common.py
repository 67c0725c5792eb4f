"""What every API resource module shares: sign-in, the caller, ETags and If-Match, dumping.

Concurrency contract (docs/adr/0010-api-concurrency-and-errors.md): single
resources with a `version` column answer with `ETag: "v<version>"`. Writes
accept an optional `If-Match`; when it is sent and does not name the current
version the write is refused with 412 and nothing changes. `If-Match: *` and
no header at all mean "whatever the current version is".
"""

from __future__ import annotations

import re
from copy import deepcopy

import flask_smorest
from flask import Response, current_app, jsonify, request
from flask_login import current_user
from marshmallow import Schema
from webargs.flaskparser import FlaskParser

from tracker.auth import ingest_token
from tracker.errors import Forbidden, StaleVersion, Unauthorized
from tracker.models import User

# Path ids: positive and within the database's integer range (else 404, never an overflow).
ID = "int(min=1, max=2147483647)"
_TAG = re.compile(r'^"v([0-9]{1,10})"$')  # ASCII digits, as IF_MATCH's pattern says

IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "schema": {"type": "string", "pattern": '^(\\*|"v[0-9]{1,10}")$'},
    "description": 'The ETag you read, e.g. "v3", or *. Optional; if sent and stale (or not '
    "an ETag of this API), the answer is 412.",
}
ETAG_HEADER = {"ETag": {"description": 'The version of the resource, e.g. "v3"', "schema": {}}}


class _ArgumentsParser(FlaskParser):
    """webargs' parser as flask-smorest uses it, loading with one instance of each schema
    class a view's `@arguments` names.

    Given a class, webargs builds a new instance for every request it parses (copying each
    declared field): 40 µs of the API list's ~2 ms (issue 29). A schema keeps no state
    between loads (nothing here sets any on `self`), so the instance made at the first
    request serves the next ones; it is the one `_one_instance` gives every view."""

    def parse(self, argmap, req=None, **kwargs):
        return super().parse(_one_instance(argmap), req, **kwargs)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint that copies its endpoints' documentation when the OpenAPI
    document is written, not when a route is declared.

    flask-smorest deep-copies each view's doc info at `@blp.route`, schema instances
    included (about 120 of the app's 280), and uses the copies only to write the document,
    which `DocumentedOnDemandApi` (tracker/extensions.py) writes at its first read. The
    routes and their request/response handling are flask-smorest's own; only the copy waits
    (issue 29: a worker that never serves /openapi.json does not hold them).
    """

    ARGUMENTS_PARSER = _ArgumentsParser()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._undocumented = []

    def arguments(self, *args, **kwargs):
        return _sharing_schemas(super().arguments(*args, **kwargs))

    def response(self, status_code, schema=None, **kwargs):
        schema = _one_instance(schema)
        return _sharing_schemas(super().response(status_code, schema, **kwargs))

    def alt_response(self, status_code, response=None, *, schema=None, **kwargs):
        schema = _one_instance(schema)
        decorator = super().alt_response(status_code, response, schema=schema, **kwargs)
        return _sharing_schemas(decorator)

    def paginate(self, *args, **kwargs):
        return _sharing_schemas(super().paginate(*args, **kwargs))

    def _store_endpoint_docs(self, endpoint, obj, parameters, tags, **options):
        self._undocumented.append((endpoint, obj, parameters, tags, options))

    def register_views_in_doc(self, api, app, spec, *, name, parameters):
        while self._undocumented:
            endpoint, obj, route_parameters, tags, options = self._undocumented.pop(0)
            super()._store_endpoint_docs(endpoint, obj, route_parameters, tags, **options)
        super().register_views_in_doc(api, app, spec, name=name, parameters=parameters)


class _DocInfo(dict):
    """A view's doc info (flask-smorest's `_apidoc`) whose deep copies share its schemas.

    Each flask-smorest decorator deep-copies the doc info of the view it wraps, so a view
    with three decorators held three copies of the first one's schema instance, and every
    copy is read only to write the OpenAPI document (apispec reads schemas, never changes
    them). The copies still copy every dict and list; the schema instances stay the one
    each decorator was given, which is also the one that loads or dumps.
    """

    def __deepcopy__(self, memo):
        for schema in _schemas_in(self):
            memo.setdefault(id(schema), schema)
        return _DocInfo({key: deepcopy(value, memo) for key, value in self.items()})


_INSTANCES: dict[type, Schema] = {}


def _one_instance(schema):
    """A response schema given as a class: one instance for every view that names it
    (flask-smorest would make one per view; dumping leaves a schema unchanged)."""
    if isinstance(schema, type) and issubclass(schema, Schema):
        if (instance := _INSTANCES.get(schema)) is None:
            instance = _INSTANCES.setdefault(schema, schema())
        return instance
    return schema


def _schemas_in(value):
    if isinstance(value, Schema):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _schemas_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _schemas_in(item)


def _sharing_schemas(decorator):
    """`decorator`, applied to a view whose doc info is a `_DocInfo` (the copy the decorator
    makes is one too, so the views it wraps in turn share as well)."""

    def apply(view):
        if not isinstance(getattr(view, "_apidoc", None), _DocInfo):
            view._apidoc = _DocInfo(getattr(view, "_apidoc", {}))
        wrapped = decorator(view)
        if wrapped is not view and wrapped._apidoc is not view._apidoc:
            del view._apidoc  # superseded by the wrapper's copy, the only one read again
        return wrapped

    return apply


def require_login() -> None:
    """Blueprint hook: the API answers 401 JSON (never a redirect) without a valid caller.

    An ingest token is a valid caller only where the resource says so (`INGEST_METHODS`
    on its view class); anywhere else it gets 403."""
    signed_in = current_user.is_authenticated  # runs the request loader, which sets the token
    if ingest_token() is not None:
        view = current_app.view_functions.get(request.endpoint or "")
        allowed = getattr(getattr(view, "view_class", None), "INGEST_METHODS", ())
        if request.method not in allowed:
            raise Forbidden(
                "An ingest token may only read its engagement's metrics and record measurements."
            )
        return
    if not signed_in:
        raise Unauthorized("Sign in or send a valid Bearer token.")


def protected(blp):
    """Register `require_login` on a resource blueprint and return it."""
    blp.before_request(require_login)
    return blp


def actor() -> User:
    """The signed-in user (a real model object, not Flask-Login's proxy)."""
    return current_user._get_current_object()


def principal():
    """The caller where an ingest token is accepted: the token, else the signed-in user."""
    return ingest_token() or actor()


def etag(version: int) -> str:
    return f'"v{version}"'


def expected_version() -> int | None:
    """The version named by If-Match; None when absent or "*".

    An If-Match that is not an ETag of this API (empty, or not `"v<digits>"`) is refused
    here with 412 before anything is read or written. It used to stand for version 0,
    "never current", but a resource with no row yet (an engagement's exit confirmations)
    is at version 0, so a malformed If-Match let its write through."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    match = _TAG.match(header.strip())
    if match is None:
        raise StaleVersion(
            'If-Match must be an ETag this API sent (such as "v3") or *; nothing was changed.',
            errors={"If-Match": [f"not an ETag of this API: {header[:40]!r}"]},
        )
    return int(match.group(1))


def dump(schema: Schema, obj, *, status: int = 200, version: int | None = None) -> Response:
    """JSON of `obj` through `schema` (chosen per audience), with an ETag when versioned."""
    response = jsonify(schema.dump(obj))
    response.status_code = status
    if version is not None:
        response.headers["ETag"] = etag(version)
    return response


def page_response(schema: Schema, page) -> Response:
    """A page of results: {"items": [...], "meta": {page, per_page, total, pages}}."""
    return jsonify({"items": schema.dump(page.items), "meta": page.meta})


def rows_page_response(dump_row, page) -> Response:
    """A page of plain rows, each dumped by `dump_row` (a `schemas.common.row_dumper` or
    `result_row_dumper`): the same body as `page_response` with the row's schema."""
    return jsonify({"items": [dump_row(item) for item in page.items], "meta": page.meta})


def no_content() -> Response:
    return Response(status=204)
