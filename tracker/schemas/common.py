"""Field types and schemas every API resource shares: strict input, pages and the error body.

Input rules live here once: integers are real JSON integers (no floats, numeric
strings or booleans), strings have a length limit and no NUL or unencodable
characters (PostgreSQL refuses both), ids fit the database's integer column,
and unknown fields are rejected (marshmallow's default, RAISE, kept on purpose).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from marshmallow import Schema, ValidationError, fields, missing, validate

MAX_ID = 2**31 - 1
TEXT_MAX = 20_000  # long free text (problem statements, notes)
NAME_MAX = 200  # titles and names (String(200) columns)
PER_PAGE_MAX = 100


class StrictInteger(fields.Integer):
    """A JSON integer: 3 is accepted; 3.0, "3" and true are refused."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)


class StrictBoolean(fields.Boolean):
    """A JSON true or false: 1, 0, "yes" and "true" are refused."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


# What Text refuses, stated in the OpenAPI document (ECMA-262 and Python read it alike).
NO_NUL = "^[^\\x00]*$"


class Text(fields.String):
    """A string with a length limit and only characters the database can store.

    The document states the NUL rule as a `pattern`; a field with a stricter rule of its
    own passes `pattern=` (which must refuse NUL too) and checks it where it is enforced.
    """

    def __init__(
        self, *, max_length: int = NAME_MAX, min_length: int = 0, pattern: str = NO_NUL, **kwargs
    ):
        validators = [validate.Length(min=min_length, max=max_length)]
        validators.extend(_as_list(kwargs.pop("validate", None)))
        metadata = {"pattern": pattern, **(kwargs.pop("metadata", None) or {})}
        super().__init__(validate=validators, metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError("NUL characters are not allowed.")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValidationError("Text must be valid Unicode.") from exc
        return text


# An http(s) link as the API takes it: the scheme, a host of printable ASCII (no brackets,
# so every link the pattern allows is one urllib splits the same way), then anything but
# whitespace and control characters. One expression for the document and the check.
_LINK = '[Hh][Tt][Tt][Pp][Ss]?://[!"$-.0->@-Z\\\\^-~]+([/?#][^\\s\\x00-\\x1f\\x7f]*)?'
LINK_PATTERN = f"^{_LINK}$"
OPTIONAL_LINK_PATTERN = f"^({_LINK})?$"
LINK_RULE = "Give a link starting with http:// or https://."


def Link(*, max_length: int, optional: bool = True, **kwargs) -> Text:  # noqa: N802
    """An http(s) link (or, if optional, an empty string), refused with 422 naming the
    field when it does not match the pattern the document states."""
    pattern = OPTIONAL_LINK_PATTERN if optional else LINK_PATTERN
    # fullmatch, as ECMA-262 reads ^…$ (Python's $ would also pass a trailing newline)
    expression = re.compile(pattern[1:-1])

    def check(value: str) -> None:
        if expression.fullmatch(value) is None:
            raise ValidationError(LINK_RULE)

    validators = [check, *_as_list(kwargs.pop("validate", None))]
    return Text(max_length=max_length, pattern=pattern, validate=validators, **kwargs)


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def Id(**kwargs) -> StrictInteger:  # noqa: N802  (reads like a field class)
    """A reference to a row: a positive integer that fits the database column."""
    return StrictInteger(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


class PageArgsSchema(Schema):
    """?page=&per_page= on every list endpoint."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=PER_PAGE_MAX))


class PageMetaSchema(Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)
    pages = fields.Integer(required=True)


class UnmetSchema(Schema):
    """One unmet requirement of a transition, in words a manager understands."""

    code = fields.String(required=True)
    message = fields.String(required=True)
    ref = fields.Dict(allow_none=True)


class ApiErrorSchema(Schema):
    """The one error body every endpoint answers with (tracker.errors.error_body)."""

    status = fields.Integer(required=True, metadata={"description": "The HTTP status"})
    code = fields.String(required=True, metadata={"description": "Stable machine code"})
    message = fields.String(required=True)
    errors = fields.Dict(
        required=True,
        metadata={"description": "Field name → list of messages (empty when not about fields)"},
    )
    unmet = fields.List(
        fields.Nested(UnmetSchema),
        required=True,
        metadata={"description": "Every unmet requirement when a transition is refused"},
    )


class UserRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class ProviderRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


# -- dumping many plain rows without marshmallow's per-field machinery --------------------

_PLAIN = {
    fields.Integer: int,
    fields.Float: float,
    fields.String: str,
}


def row_dumper(schema: Schema):
    """A function that dumps one mapping (a Core row as a dict) exactly as `schema.dump`
    would, compiled once from the schema's dump fields.

    For a list's rows, where marshmallow's field-by-field dispatch was a third of a 50-row
    API page (docs/benchmarks.md, ADR 0225). The schema stays the one definition of the
    output and of the OpenAPI document: integers, floats, strings, ISO dates and datetimes
    and nested schemas of those are converted as those fields convert them. A schema with
    any other field or with dump hooks is dumped by marshmallow itself. Like `dump`, a
    key missing from the row is left out and None stays None.
    """
    steps = [
        (key, attribute, _converter(schema, field)) for key, attribute, field in _dumped(schema)
    ]
    if any(schema._hooks.values()) or any(convert is None for _k, _a, convert in steps):
        return lambda row: schema.dump(row, many=False)

    def dump_row(row):
        out = {}
        for key, attribute, convert in steps:
            if attribute in row:
                value = row[attribute]
                out[key] = None if value is None else convert(value)
        return out

    return dump_row


def result_row_dumper(schema: Schema, columns: tuple[str, ...]):
    """A function that dumps one result row, a tuple whose columns are named `columns` (as
    `Result.keys()` names them), exactly as `schema.dump` dumps a mapping of the same values.

    Each field reads its column by position, so a list's rows go from the database row to
    the JSON's dict in one pass: no dict per row first, no look-up by name (issue 29). A
    Nested field `owner` reads the columns `owner.id`, `owner.name`, … and is None when
    they are all None (what a left join gives for no row). A field the columns lack is left
    out, as `dump` leaves out a missing key; columns no field reads are ignored. A schema
    `row_dumper` would hand to marshmallow is dumped by marshmallow here too, from the
    mapping the row stands for.
    """
    position = {name: index for index, name in enumerate(columns)}
    dump_row = _positional_dumper(schema, position, "")
    if dump_row is None:
        return lambda row: schema.dump(_as_mapping(columns, row))
    return dump_row


def _positional_dumper(schema: Schema, position: dict[str, int], prefix: str):
    """`result_row_dumper`'s function for the columns named `prefix` + attribute, or None
    when a field is not one of the plain kinds (or the schema has dump hooks)."""
    steps = _positional_steps(schema, position, prefix)
    if steps is None:
        return None

    def dump_row(row):
        out = {}
        for key, index, convert in steps:
            if index < 0:  # a nested schema: its own function of the whole row
                out[key] = convert(row)
            else:
                value = row[index]
                out[key] = None if value is None else convert(value)
        return out

    return dump_row


def _positional_steps(schema: Schema, position: dict[str, int], prefix: str):
    """(key, column index, conversion) per field the columns hold, in the schema's order;
    a nested field's index is -1 and its conversion reads the whole row."""
    if any(schema._hooks.values()):
        return None
    steps = []
    for key, attribute, field in _dumped(schema):
        if type(field) is fields.Nested and not field.many and isinstance(field.schema, Schema):
            inner = _nested_dumper(field.schema, position, f"{prefix}{attribute}.")
            if inner is None:
                return None
            if inner is not _ABSENT:
                steps.append((key, -1, inner))
            continue
        convert = _converter(schema, field)
        if convert is None:
            return None
        if prefix + attribute in position:
            steps.append((key, position[prefix + attribute], convert))
    return steps


_ABSENT = object()  # a nested field none of whose columns the result has: left out


def _nested_dumper(schema: Schema, position: dict[str, int], prefix: str):
    indexes = [index for name, index in position.items() if name.startswith(prefix)]
    if not indexes:
        return _ABSENT
    dump_inner = _positional_dumper(schema, position, prefix)
    if dump_inner is None:
        return None

    def dump_nested(row):
        for index in indexes:
            if row[index] is not None:
                return dump_inner(row)
        return None

    return dump_nested


def _as_mapping(columns: tuple[str, ...], row) -> dict:
    """The row as `result_row_dumper` reads it: `owner.id` and `owner.name` as `owner`'s
    mapping (None when all its columns are None)."""
    out: dict = {}
    for name, value in zip(columns, row, strict=True):
        *path, last = name.split(".")
        target = out
        for part in path:
            target = target.setdefault(part, {})
        target[last] = value
    return _none_for_empty(out)


def _none_for_empty(mapping: dict) -> dict:
    for key, value in mapping.items():
        if isinstance(value, dict):
            inner = _none_for_empty(value)
            mapping[key] = None if all(v is None for v in inner.values()) else inner
    return mapping


def _dumped(schema: Schema):
    for name, field in schema.dump_fields.items():
        yield field.data_key or name, field.attribute or name, field


def _converter(schema: Schema, field):
    """The conversion `field` makes of a value that is not None, or None if not one of
    the plain kinds above."""
    kind = type(field)
    if kind in _PLAIN and not getattr(field, "as_string", False):
        return _PLAIN[kind]
    if kind is fields.Date and (field.format or schema.opts.dateformat or "iso") == "iso":
        return _isoformat
    if kind is fields.DateTime and (field.format or schema.opts.datetimeformat or "iso") == "iso":
        return _isoformat
    if kind is fields.Nested and not field.many and isinstance(field.schema, Schema):
        nested = field.schema
        if not any(nested._hooks.values()) and all(
            _converter(nested, f) is not None for _k, _a, f in _dumped(nested)
        ):
            return row_dumper(nested)
    return None


def _isoformat(value) -> str:
    return value.isoformat()


def object_dumper(schema: Schema):
    """A function that dumps one object (an ORM row) exactly as `schema.dump` would: the
    plain fields `row_dumper` compiles are read with `getattr` and converted directly, a
    nested schema of plain fields likewise; any other field (a Function, a List) is
    serialised by the field itself, as marshmallow's own loop does. For one engagement's
    detail, where marshmallow's dispatch over 35 fields was a third of the handler
    (ADR 0230). A schema with dump hooks is dumped by marshmallow as a whole."""
    if any(schema._hooks.values()):
        return lambda obj: schema.dump(obj, many=False)
    steps = []
    for key, attribute, field in _dumped(schema):
        convert = _converter(schema, field)
        if convert is not None and type(field) is fields.Nested:
            convert = object_dumper(field.schema)
        if type(field) is fields.List and type(field.inner) is fields.Nested:
            convert = _list_dumper(schema, field.inner)
        steps.append((key, attribute, convert, field))
    accessor = schema.get_attribute

    def dump_object(obj):
        out = {}
        for key, attribute, convert, field in steps:
            if convert is None:
                value = field.serialize(attribute, obj, accessor=accessor)
                if value is not missing:
                    out[key] = value
                continue
            value = getattr(obj, attribute, missing)
            if value is not missing:
                out[key] = None if value is None else convert(value)
        return out

    return dump_object


def _list_dumper(schema: Schema, inner):
    """A List of a plain nested schema (reasons stored as JSON: dicts), or None."""
    if inner.many or _converter(schema, inner) is None:
        return None
    as_row, as_object = row_dumper(inner.schema), object_dumper(inner.schema)
    return lambda items: [as_row(i) if isinstance(i, Mapping) else as_object(i) for i in items]
