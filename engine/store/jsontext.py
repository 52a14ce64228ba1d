"""JSON text for the database's JSON columns: what `json.dumps(value, check_circular=False)` writes.

`json.dumps` builds a new C encoder on every call (~2 µs, more than encoding a
record's dozen fields); a bulk import writes three JSON values a row (the
record, its event's diff, its alert trace). This encoder is built once, with
`json.dumps`'s defaults, so the text is the same to the byte. It keeps no
circular-reference memory (a stored value is a tree of plain values; a cycle
ends in RecursionError), so one encoder serves every thread.
"""
from __future__ import annotations

import json
from json import encoder as _encoder
from typing import Any

_c_encode = _encoder.c_make_encoder(
    None, json.JSONEncoder().default, _encoder.encode_basestring_ascii, None,
    ": ", ", ", False, False, True) if _encoder.c_make_encoder is not None else None


def dumps(value: Any) -> str:
    """`json.dumps(value, check_circular=False)`, with no encoder built per call."""
    if _c_encode is None:
        return json.dumps(value, check_circular=False)
    return "".join(_c_encode(value, 0))
