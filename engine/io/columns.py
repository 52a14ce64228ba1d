"""Header cells ↔ fields, and the importer's own (reserved) columns.

The reserved columns start with `_` (a field name cannot): `_key` ties a
record's row to its line items, `_parent` names a line's parent record,
`_state` is the workflow step (written by exports, not imported). Older files
and exports say `number`, `ref`, `key` or `#` for the key, the parent form's
id or title for the parent, and `State` for the state: those words are read
too, but only when no field of the form is called so (by name or label) —
the form's own fields always win.
"""
from __future__ import annotations

from typing import Iterable

from openpyxl.utils import get_column_letter

from .cells import blank

KEY, PARENT, STATE = "_key", "_parent", "_state"
KEY_WORDS = {"number", "ref", "key", "#", "编号"}
STATE_WORDS = {"state", "状态"}
HEADINGS = {KEY: {"en": "Number", "zh": "编号"}, STATE: {"en": "State", "zh": "状态"}}


def labels(f) -> set[str]:
    """A field's name and its label in every language, lower-cased."""
    names = {f.name.lower()}
    for _, text in f.label.texts:
        names.add(str(text).strip().lower())
    return names


def input_fields(fields) -> list:
    return [f for f in fields if f.compute is None and not f.is_table]


def column_names(fields) -> list[str]:
    return [f.name for f in input_fields(fields) if not f.readonly]


def taken(fields) -> set[str]:
    """Every header word a field of this level answers to (computed and tables too)."""
    return {n for f in fields for n in labels(f)}


def reserved(fields, key: str, words: Iterable[str]) -> dict[str, set[str]]:
    """`{key: header words}` for a reserved column: its own name, and the older words
    no field claims."""
    claimed = taken(fields)
    return {key: {key} | {w.lower() for w in words if w.lower() not in claimed}}


def heading(fields, key: str, language: str | None) -> str:
    """What an export calls a reserved column: "Number", unless a field answers to it."""
    word = HEADINGS[key].get(language or "en") or HEADINGS[key]["en"]
    return key if word.lower() in taken(fields) else word


def field_heading(f, fields, language: str | None) -> str:
    """A field's export header: its label, or its name when the label means another field."""
    label = f.label.get(language) if f.label else f.name
    low = str(label).strip().lower()
    if low and all(low not in labels(g) for g in fields if g is not f):
        return str(label).strip()
    return f.name


def position(i: int) -> str:
    """A column index as a person finds it: "column C (3)"."""
    return f"column {get_column_letter(i + 1)} ({i + 1})"


class Columns:
    """Header cells → fields of one level (a form, or a table's rows).

    `unknown` and `duplicate` name the header cells no field answers to, and the
    ones naming a field an earlier column already gave (both with `position`);
    `problems()` says so in words. `positions` maps this header's indexes to the
    file's (line columns `lines.qty` are a part of a wider header)."""

    def __init__(self, fields, header: list, extra: dict[str, set[str]] | None = None,
                 prefixes: Iterable[str] = (), ignored: Iterable[str] = (),
                 positions: list[int] | None = None):
        self.fields = {f.name: f for f in fields}
        self.map: dict[int, str] = {}  # column index → field name (or a reserved key)
        self.line_map: dict[str, dict[int, str]] = {}  # table → {column: header after "table."}
        self.unknown: list[str] = []
        self.problems_: list[str] = []
        at = positions or list(range(len(header)))
        first: dict[str, tuple[int, str]] = {}
        lookup: dict[str, str] = {}
        for f in input_fields(fields):
            for n in labels(f):
                lookup.setdefault(n, f.name)
        # computed columns (e.g. from an export) and what `ignored` names: not imported
        skipped = {n for f in fields if f.compute is not None or f.is_table for n in labels(f)}
        skipped |= {n.lower() for n in ignored} - set(lookup)
        for key, names in (extra or {}).items():
            for n in names:
                lookup.setdefault(n, key)  # a field of the same name wins
        for i, cell in enumerate(header):
            h = "" if cell is None else str(cell).strip()
            if not h:
                continue
            low = h.lower()
            head, dot, rest = h.partition(".")
            if dot and head.lower() in prefixes:
                self.line_map.setdefault(head.lower(), {})[i] = rest
            elif low in lookup:
                name = lookup[low]
                if name in first:
                    j, g = first[name]
                    self.problems_.append(f"{position(at[i])} {h!r} repeats {position(at[j])} "
                                          f"{g!r}: both are {name}; keep one")
                    continue
                first[name] = (i, h)
                self.map[i] = name
            elif low in skipped:
                continue
            else:
                self.unknown.append(h)
                self.problems_.append(f"{position(at[i])}: unknown column {h!r}")

    def problems(self, choices: Iterable[str] = ()) -> list[str]:
        """What is wrong with the header, one message per column (the choices appended)."""
        known = ", ".join(choices)
        return [p + (f"; the columns are {known}" if known and "unknown" in p else "")
                for p in self.problems_]

    def index(self, name: str) -> int | None:
        return next((i for i, n in self.map.items() if n == name), None)


def empty_row(row: list) -> bool:
    return all(blank(v) for v in row)
