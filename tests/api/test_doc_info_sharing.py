"""The API's Blueprint keeps one instance of each schema a view's decorators were given in
its doc info (tracker.api.common: flask-smorest's decorators deep-copy the doc info of the
view they wrap), and its OpenAPI document is the one flask-smorest's own Blueprint writes."""

from __future__ import annotations

import copy

import flask_smorest
from marshmallow import Schema, fields

from tracker.api.common import Blueprint, _schemas_in


class _In(Schema):
    name = fields.String(required=True)


class _Out(Schema):
    id = fields.Integer()


class _Error(Schema):
    message = fields.String()


def _decorate(blueprint):
    @blueprint.arguments(_In)
    @blueprint.response(200, _Out)
    @blueprint.alt_response(409, schema=_Error)
    def view(body):
        return body

    return view


def _distinct_schemas(view) -> dict[str, int]:
    """How many distinct instances of each schema the view and what it wraps hold."""
    seen: dict[str, set[int]] = {}
    while view is not None:
        for schema in _schemas_in(getattr(view, "_apidoc", {})):
            seen.setdefault(type(schema).__name__, set()).add(id(schema))
        view = getattr(view, "__wrapped__", None)
    return {name: len(ids) for name, ids in sorted(seen.items())}


def _doc_infos(view) -> int:
    """How many distinct doc info dicts the view and what it wraps hold."""
    found = set()
    while view is not None:
        if hasattr(view, "_apidoc"):
            found.add(id(view._apidoc))
        view = getattr(view, "__wrapped__", None)
    return len(found)


def test_a_views_doc_info_holds_the_decorators_schema_instances_once():
    view = _decorate(Blueprint("sharing", __name__))
    schemas = list(_schemas_in(view._apidoc))
    assert sorted(type(s).__name__ for s in schemas) == ["_Error", "_Out"]  # @arguments keeps _In
    assert _distinct_schemas(view) == {"_Error": 1, "_Out": 1}
    assert _doc_infos(view) == 1  # the wrapped views' superseded copies are dropped
    copied = copy.deepcopy(view._apidoc)
    assert [id(s) for s in _schemas_in(copied)] == [id(s) for s in schemas]
    assert copied == view._apidoc and copied is not view._apidoc


def test_flask_smorests_blueprint_copies_them_at_each_decorator():
    """What the sharing saves: the stock Blueprint holds a copy per decorator above."""
    view = _decorate(flask_smorest.Blueprint("copying", __name__))
    assert _distinct_schemas(view) == {"_Error": 3, "_Out": 2}  # the innermost most often
    assert _doc_infos(view) == 3


def test_views_that_answer_with_the_same_schema_class_share_one_instance():
    blueprint = Blueprint("one-instance", __name__)
    first, second = _decorate(blueprint), _decorate(blueprint)
    (a,) = [s for s in _schemas_in(first._apidoc) if isinstance(s, _Out)]
    (b,) = [s for s in _schemas_in(second._apidoc) if isinstance(s, _Out)]
    assert a is b
    assert a.dump({"id": 3}) == {"id": 3}  # the instance that dumps, as well as documents


class _Counted(Schema):
    """A query schema that counts its instances."""

    made = 0
    page = fields.Integer()

    def __init__(self, *args, **kwargs):
        type(self).made += 1
        super().__init__(*args, **kwargs)


def test_arguments_are_loaded_by_one_instance_of_their_schema_class(app):
    """webargs makes an instance of a schema class for every request it parses; the API's
    parser makes one, at the first request."""
    from webargs.flaskparser import FlaskParser

    for page in ("1", "2", "3"):
        with app.test_request_context(f"/?page={page}"):
            assert Blueprint.ARGUMENTS_PARSER.parse(_Counted, location="query") == {
                "page": int(page)
            }
    assert _Counted.made == 1
    with app.test_request_context("/?page=4"):
        assert FlaskParser().parse(_Counted, location="query") == {"page": 4}
    assert _Counted.made == 2  # what the stock parser does
