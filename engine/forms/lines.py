"""Line identity: every row of a table carries a stable `_id` from the write that created it.

Why: another record's line (a line of a claim paying a line of a budget), an
update of one line of another record and a history entry that says "this
line changed" all need a line to be the same line after edits and reorders.
Positions cannot be that: a row removed above it shifts every index.

The id is a random string, globally unique (not per record), so SQL can
find a line, and its record, by the id alone (`line_id` in the typed line
table). A client keeps a line by sending its `_id` back; an `_id` that is
not one of this record's current lines is never trusted (a new id is
given), so no client can forge or take over another record's line.
"""
from __future__ import annotations

from typing import Mapping

from ..store.line_ids import LINE_ID, new_line_id


def identify_lines(tables, values: Mapping, before: Mapping | None, fresh=new_line_id) -> dict:
    """`values` with every row of every table in `tables` carrying a trusted `_id`.

    A row keeps its `_id` only when it is one of the same table's rows in
    `before` (the stored record; None for a new one) and no earlier row of
    the list claimed it; every other row gets `fresh()` (none when that is None: a
    preview shows only the ids a save would keep). Rows are copied, never changed in
    place (the caller's lists may be shared)."""
    out = None
    for name in tables:
        rows = values.get(name)
        if not rows:
            continue
        known = {r.get(LINE_ID) for r in (before.get(name) or ())} if before else set()
        known.discard(None)
        fixed = []
        changed = False
        for row in rows:
            lid = row.get(LINE_ID)
            if lid in known and isinstance(lid, str):
                known.discard(lid)  # a second row sending the same id is a new line
                fixed.append(row)
                continue
            lid = fresh() if fresh is not None else None
            if lid is None and LINE_ID not in row:
                fixed.append(row)
                continue
            fixed.append({**{k: v for k, v in row.items() if k != LINE_ID},
                          **({LINE_ID: lid} if lid is not None else {})})
            changed = True
        if changed:
            if out is None:
                out = dict(values)
            out[name] = fixed
    return values if out is None else out


def line_diff(old_rows, new_rows, dump_row) -> dict | None:
    """How a table changed, by line identity, or None when it did not.

    `{"added": [row], "removed": [row], "changed": [{"_id", "at", "fields": {cell: [old, new]}}],
    "moved": true}` — keys only when they apply; rows are JSON (`dump_row`), `at` is
    the line's position (from 1) after the change; `moved` when the order of
    the lines that stayed changed."""
    old_rows, new_rows = old_rows or [], new_rows or []
    old_by = {r.get(LINE_ID): r for r in old_rows}
    new_ids = [r.get(LINE_ID) for r in new_rows]
    new_set = set(new_ids)
    out: dict = {}
    added, changed = [], []
    for pos, row in enumerate(new_rows, 1):
        lid = row.get(LINE_ID)
        prev = old_by.get(lid) if lid is not None else None
        if prev is None:
            added.append(dump_row(row))
            continue
        a, b = dump_row(prev), dump_row(row)
        fields = {k: [a.get(k), b.get(k)] for k in {**a, **b} if k != LINE_ID
                  and a.get(k) != b.get(k)}
        if fields:
            changed.append({LINE_ID: lid, "at": pos, "fields": dict(sorted(fields.items()))})
    removed = [dump_row(r) for r in old_rows if r.get(LINE_ID) is None
               or r.get(LINE_ID) not in new_set]
    kept_old = [r.get(LINE_ID) for r in old_rows if r.get(LINE_ID) in new_set]
    kept_new = [i for i in new_ids if i in old_by]
    if added:
        out["added"] = added
    if removed:
        out["removed"] = removed
    if changed:
        out["changed"] = changed
    if kept_old != kept_new:
        out["moved"] = True
    return out or None
