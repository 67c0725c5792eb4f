"""`row_dumper`: a schema compiled into a function that dumps plain rows as `dump` does."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from marshmallow import Schema, fields, post_dump

from tracker.models import Health
from tracker.schemas.common import UserRefSchema, result_row_dumper, row_dumper


class _Row(Schema):
    id = fields.Integer(required=True)
    title = fields.String()
    health = fields.String(attribute="effective_health")
    cost = fields.Float(data_key="monthlyCost")
    due = fields.Date(allow_none=True)
    seen = fields.DateTime()
    owner = fields.Nested(UserRefSchema)


def _rows() -> list[dict]:
    return [
        {
            "id": 7,
            "title": "Churn <model> & 'co'",
            "effective_health": Health.AMBER,
            "cost": Decimal("30000.50"),
            "due": date(2026, 12, 6),
            "seen": datetime(2026, 12, 6, 9, 30, 1, 5, tzinfo=UTC),
            "owner": {"id": 2, "name": "Ada", "email": "not dumped"},
        },
        {  # None stays None, a key the row lacks is left out, a naive and an offset time
            "id": 8,
            "title": None,
            "effective_health": "red",
            "cost": 1,
            "due": None,
            "seen": datetime(2026, 1, 2, 3, 4, 5),
            "owner": {"id": 3, "name": "Bo"},
        },
        {
            "id": 9,
            "title": "x",
            "effective_health": "green",
            "cost": None,
            "due": date(2027, 1, 1),
            "seen": datetime(2026, 1, 2, tzinfo=timezone(timedelta(hours=-5))),
            "owner": None,
        },
    ]


def test_the_compiled_dumper_gives_the_schemas_json_for_every_kind_of_field():
    for schema in (_Row(), _Row(exclude=("cost",)), _Row(only=("id", "owner"))):
        dump_row = row_dumper(schema)
        expected = schema.dump(_rows(), many=True)
        assert [dump_row(row) for row in _rows()] == expected
        # the same JSON text: key order and value types included
        assert json.dumps([dump_row(row) for row in _rows()]) == json.dumps(expected)
    assert row_dumper(_Row())(_rows()[0])["monthlyCost"] == 30000.5
    del_title = {k: v for k, v in _rows()[0].items() if k != "title"}
    assert "title" not in row_dumper(_Row())(del_title)
    assert row_dumper(_Row()).__name__ == "dump_row"  # compiled, not marshmallow's dump


def test_fields_it_does_not_compile_and_dump_hooks_are_left_to_marshmallow():
    class WithFunction(_Row):
        label = fields.Function(lambda row: f"#{row['id']}")

    class AsString(_Row):
        count = fields.Integer(as_string=True)

    class WithHook(_Row):
        @post_dump
        def shout(self, data, **kwargs):
            return {**data, "title": str(data["title"]).upper()}

    rows = [{**row, "count": n} for n, row in enumerate(_rows())]
    for schema in (WithFunction(), AsString(), WithHook()):
        dump_row = row_dumper(schema)
        assert dump_row.__name__ == "<lambda>"  # marshmallow's own dump
        assert [dump_row(row) for row in rows] == schema.dump(rows, many=True)
    assert row_dumper(WithFunction())(_rows()[0])["label"] == "#7"
    assert row_dumper(WithHook())(_rows()[2])["title"] == "X"
    assert row_dumper(AsString())(rows[1])["count"] == "1"


def test_any_key_or_attribute_is_dumped_as_given():
    """A key or attribute with quotes, backslashes or a newline is only data."""
    odd = "it's \"odd\"\\\n); raise SystemExit('no'"

    class Odd(Schema):
        value = fields.Integer(data_key=odd, attribute=odd)
        plain = fields.String()

    row = {odd: 5, "plain": "p"}
    assert row_dumper(Odd())(row) == Odd().dump(row) == {odd: 5, "plain": "p"}
    assert row_dumper(Odd())({"plain": None}) == Odd().dump({"plain": None}) == {"plain": None}


# -- result rows: tuples read by position -------------------------------------------------


def _as_result(rows: list[dict]) -> tuple[tuple[str, ...], list[tuple]]:
    """The rows as a query's result gives them: a nested owner as `owner.id`,
    `owner.name` columns (NULL for both when it has none), plus a column no field reads."""
    columns = ("owner.name", "id", "title", "effective_health", "cost", "due", "seen")
    columns += ("owner.id", "unread")
    result = []
    for row in rows:
        owner = row["owner"] or {"id": None, "name": None}
        values = [owner["name"], *(row[name] for name in columns[1:7]), owner["id"], "x"]
        result.append(tuple(values))
    return columns, result


def test_result_rows_dump_as_their_mappings_would_from_columns_in_any_order():
    columns, result = _as_result(_rows())
    for schema in (_Row(), _Row(exclude=("cost",)), _Row(only=("id", "owner"))):
        dump_row = result_row_dumper(schema, columns)
        expected = schema.dump(_rows(), many=True)
        assert [dump_row(row) for row in result] == expected
        assert json.dumps([dump_row(row) for row in result]) == json.dumps(expected)
        assert dump_row.__name__ == "dump_row"  # compiled, not marshmallow's dump
    assert result_row_dumper(_Row(), columns)(result[2])["owner"] is None  # both NULL


def test_a_field_without_its_column_is_left_out_as_a_missing_key_is():
    columns, result = _as_result(_rows())
    keep = [i for i, name in enumerate(columns) if name not in ("title", "owner.id", "owner.name")]
    narrow = tuple(columns[i] for i in keep)
    dump_row = result_row_dumper(_Row(), narrow)
    dumped = dump_row(tuple(result[0][i] for i in keep))
    without = {k: v for k, v in _rows()[0].items() if k not in ("title", "owner")}
    assert dumped == _Row().dump(without)
    assert "title" not in dumped and "owner" not in dumped
    only_id = tuple(name for name in columns if name != "owner.name")
    row = tuple(v for name, v in zip(columns, result[0], strict=True) if name != "owner.name")
    assert result_row_dumper(_Row(), only_id)(row)["owner"] == {"id": 2}


def test_result_rows_of_schemas_it_does_not_compile_are_dumped_by_marshmallow():
    class WithFunction(_Row):
        label = fields.Function(lambda row: f"#{row['id']}")

    class WithHook(_Row):
        @post_dump
        def shout(self, data, **kwargs):
            return {**data, "title": str(data["title"]).upper()}

    columns, result = _as_result(_rows())
    for schema in (WithFunction(), WithHook()):
        dump_row = result_row_dumper(schema, columns)
        assert dump_row.__name__ == "<lambda>"
        expected = schema.dump([{**r, "unread": "x"} for r in _rows()], many=True)
        assert [dump_row(row) for row in result] == expected
    assert result_row_dumper(WithFunction(), columns)(result[1])["label"] == "#8"
    assert result_row_dumper(WithHook(), columns)(result[2])["owner"] is None
