"""The JSON columns' text (engine/store/jsontext.py) is `json.dumps`'s to the byte.

Records, history diffs and alert traces are written through the engine's
JSON serializer; a faster encoder must not change one stored byte.
"""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from engine.store import jsontext
from engine.store import tables as t

VALUES = [
    None, True, 0, -7, 2 ** 70, 1.5, float("nan"), float("inf"), "", "plain", "引号\"\\\n\t\u2028",
    [], {}, [None, "x", 1, [2, {"a": []}]],
    {"name": [None, "Customer 000001"], "qty": 3, "ok": False, "rows": [{"_id": "L1", "x": 0.1}]},
    {1: "int key", True: "bool key", None: "none key", 2.5: "float key"},
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_dumps__same_text_as_json_dumps(value):
    assert jsontext.dumps(value) == json.dumps(value)


def test_dumps__what_json_cannot_encode_is_refused_as_json_refuses_it():
    with pytest.raises(TypeError, match="Decimal is not JSON serializable"):
        jsontext.dumps({"a": Decimal("1.5")})


def test_stored_json__text_the_database_holds_is_json_dumps(engine, users):
    rec = engine.create(users["alice"], "customer", {"name": "Ünïcode \"Co\"", "region": "east"})
    with engine.db.engine.connect() as conn:
        col = sa.cast(t.records.c.data, sa.Text)
        text = conn.execute(sa.select(col).where(t.records.c.id == rec.id)).scalar()
    if engine.db.is_sqlite:  # PostgreSQL's JSONB keeps its own text
        assert text == json.dumps(rec.to_json()["data"])
