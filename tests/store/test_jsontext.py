"""The JSON columns' text (engine/store/jsontext.py): orjson's, read back as json.dumps's.

Records, history diffs and alert traces are written through the engine's JSON
serializer. A faster encoder may write other text (compact, UTF-8), never another
value: every stored value reads back as json.dumps's text of it did, and what
json.dumps refuses is still refused.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from engine.store import jsontext
from engine.store import tables as t

VALUES = [
    None, True, 0, -7, 2 ** 70, -(2 ** 64), 1.5, 0.1, 1e16, -2.5e-300, "", "plain",
    "引号\"\\\n\t\u2028\u0000", [], {}, [None, "x", 1, [2, {"a": []}]], (1, "tuple"),
    {"name": [None, "Customer 000001"], "qty": 3, "ok": False, "rows": [{"_id": "L1", "x": 0.1}]},
    {1: "int key", True: "bool key", None: "none key", 2.5: "float key"},
    {"big": [2 ** 63, 2 ** 64 + 1]},
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_dumps__reads_back_as_json_dumps_text_does(value):
    assert json.loads(jsontext.dumps(value)) == json.loads(json.dumps(value))


def test_dumps__writes_compact_utf8_text():
    assert jsontext.dumps({"a": 1, "城": ["上海", None]}) == '{"a":1,"城":["上海",null]}'


class Text(str):
    pass


@dataclass
class Point:
    x: int


@pytest.mark.parametrize("value", [{"k": Text("sub")}, {Text("key"): 1}, {1: 2}, 2 ** 70],
                         ids=["str subclass", "subclass key", "int key", "big int"])
def test_dumps__what_orjson_treats_otherwise_is_json_dumps_text(value):
    assert jsontext.dumps(value) == json.dumps(value)


@pytest.mark.parametrize("value", [Decimal("1.5"), date(2026, 1, 2), datetime(2026, 1, 2, 3, 4),
                                   {1, 2}, Point(1), object()],
                         ids=["decimal", "date", "datetime", "set", "dataclass", "object"])
def test_dumps__what_json_cannot_encode_is_refused_as_json_refuses_it(value):
    with pytest.raises(TypeError) as refused:
        json.dumps({"a": value})
    with pytest.raises(TypeError, match="is not JSON serializable") as ours:
        jsontext.dumps({"a": value})
    assert str(ours.value) == str(refused.value)


def test_dumps__a_non_finite_float_is_null_not_the_invalid_token_nan():
    assert jsontext.dumps([float("nan"), float("inf")]) == "[null,null]"


def test_stored_json__the_database_reads_what_the_record_holds(engine, users):
    name = "Ünïcode \"Co\" 上海"
    rec = engine.create(users["alice"], "customer", {"name": name, "region": "east"})
    with engine.db.engine.connect() as conn:
        col = sa.cast(t.records.c.data, sa.Text)
        text = conn.execute(sa.select(col).where(t.records.c.id == rec.id)).scalar()
        # the database's own JSON functions read the text (a filter or report in SQL does)
        named = conn.execute(sa.select(t.records.c.data["name"].as_string())
                             .where(t.records.c.id == rec.id)).scalar()
    assert json.loads(text) == rec.to_json()["data"]
    assert named == name
    assert engine.get(users["alice"], "customer", rec.id).data["name"] == name
