"""The line id every table row carries (`_id`): its key and how a fresh one is made.

Here, in the store layer, because both the writer (engine/forms/lines.py)
and the typed tables' backfill (which gives ids to rows stored before line
ids existed) make them.
"""
from __future__ import annotations

import secrets

LINE_ID = "_id"


def new_line_id() -> str:
    """A fresh line id: 16 hex digits (64 random bits), unique across all records."""
    return secrets.token_hex(8)


def give_line_ids(data: dict, tables) -> dict | None:
    """Stored record JSON with an id on every row of `tables` that has none, or None
    when every row already has one."""
    out = None
    for name in tables:
        rows = data.get(name)
        if not isinstance(rows, list) or all(
                not isinstance(r, dict) or r.get(LINE_ID) for r in rows):
            continue
        if out is None:
            out = dict(data)
        out[name] = [{**r, LINE_ID: new_line_id()} if isinstance(r, dict) and not r.get(LINE_ID)
                     else r for r in rows]
    return out
