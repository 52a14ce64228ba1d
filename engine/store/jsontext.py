"""JSON text for the database's JSON columns.

Every write stores JSON (a record's data, its event's diff, an alert trace); a
bulk import writes three values a row, and encoding them with `json.dumps` was
~11% of an import's CPU. orjson writes the same values 5–6x faster. Its text is
compact and UTF-8 (`{"a":1,"城":"上海"}` where json.dumps wrote
`{"a": 1, "\\u57ce": ...}`); every reader parses the text, none compares it.

What orjson would write differently from json.dumps, or refuses, goes to
json.dumps, which answers or raises as it always did: dates, datetimes,
dataclasses and subclasses of the built-in types (passed through), integers
beyond 64 bits and dict keys that are not strings. Stored values are plain
(fields dump decimals and dates as text); of what is not, orjson writes enums and
UUIDs by value where json.dumps refused them, and a non-finite float as `null`
where json.dumps wrote the invalid token `NaN` (PostgreSQL refuses it, SQLite's
JSON functions call it malformed).
"""
from __future__ import annotations

import json
from json import encoder as _encoder
from typing import Any

import orjson

_OPTIONS = (orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
            | orjson.OPT_PASSTHROUGH_SUBCLASS)
_orjson_dumps = orjson.dumps

# json.dumps builds a new C encoder on every call (~2 µs); this one is built once, with
# json.dumps's defaults and no circular-reference memory, so one serves every thread
_c_encode = _encoder.c_make_encoder(
    None, json.JSONEncoder().default, _encoder.encode_basestring_ascii, None,
    ": ", ", ", False, False, True) if _encoder.c_make_encoder is not None else None


def dumps(value: Any) -> str:
    """JSON text of `value`, as orjson writes it; json.dumps's text or error for what
    orjson would treat differently (see the module's docstring)."""
    try:
        return _orjson_dumps(value, option=_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        return standard_dumps(value)


def standard_dumps(value: Any) -> str:
    """`json.dumps(value, check_circular=False)`, with no encoder built per call."""
    if _c_encode is None:
        return json.dumps(value, check_circular=False)
    return "".join(_c_encode(value, 0))
