"""Step 1 of `prepare`: user input parsed by each field's type, over the existing values.

Unknown keys are refused; computed fields are ignored and read-only ones too
unless the caller is trusted (`system`). Input is data: never evaluated.
"""
from __future__ import annotations

from typing import Any, Mapping

from ..definitions.environment import SYSTEM_FIELDS
from ..fields import FieldError
from .compiled import UNKNOWN, Field, Level, username
from .lines import LINE_ID


def parse_input(level: Level, raw: Mapping, existing: Mapping | None, errors: dict,
                system: bool, user):
    """(values, paths that did not parse, tables given afresh)."""
    values: dict = {}
    if existing is not None:
        for f in level.fields:
            v = existing.get(f.name)
            if f.level is not None:
                cells = f.level.fields
                v = [_keep_id(r, {c.name: r.get(c.name) for c in cells}) for r in v or ()]
            values[f.name] = v
        # expressions may name system fields (state, owner, number...): not stored here
        for name in SYSTEM_FIELDS:
            if name in existing and name not in level.by_name:
                values[name] = existing[name]
    else:
        values = dict.fromkeys(level.field_names)
        for name in level.table_names:
            values[name] = []
        if "owner" not in level.by_name:
            values["owner"] = username(user)
    bad: set[str] = set()
    fresh_rows: set[str] = set()
    for key, rv in raw.items():
        f = level.by_name.get(key)
        if f is None:
            errors[str(key)] = UNKNOWN
            continue
        if not f.accepts_input or (f.spec.readonly and not system):
            continue  # computed values are always computed; read-only is not the user's
        if f.level is not None:
            values[key] = parse_rows(f, rv, errors, bad, system)
            fresh_rows.add(key)
            continue
        try:
            values[key] = f.ftype.parse(f.spec, rv)
        except FieldError as exc:
            errors[key] = str(exc)
            bad.add(key)
            values[key] = None
    return values, bad, fresh_rows


def parse_rows(f: Field, raw: Any, errors: dict, bad: set, system: bool) -> list:
    try:
        rows = f.ftype.parse(f.spec, raw)
    except FieldError as exc:
        errors[f.name] = str(exc)
        bad.add(f.name)
        return []
    level = f.level
    out = []
    for i, raw_row in enumerate(rows):
        row = {c.name: None for c in level.fields}
        for key, rv in raw_row.items():
            if key == LINE_ID:
                # kept as sent: the writer trusts it only if it names one of this record's lines
                if isinstance(rv, str) and rv:
                    row[LINE_ID] = rv
                continue
            c = level.by_name.get(key)
            path = f"{f.name}[{i}].{key}"
            if c is None:
                errors[path] = UNKNOWN
                continue
            if not c.accepts_input or (c.spec.readonly and not system):
                continue
            try:
                row[key] = c.ftype.parse(c.spec, rv)
            except FieldError as exc:
                errors[path] = str(exc)
                bad.add(path)
        out.append(row)
    return out


def _keep_id(stored: Mapping, row: dict) -> dict:
    lid = stored.get(LINE_ID)
    if lid is not None:
        row[LINE_ID] = lid
    return row
