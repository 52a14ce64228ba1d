"""Spreadsheet cells ↔ field values: the only per-type code of import and export.

MERGE NOTE: `from_cell` is importer.py's `_convert` moved as it was, and
`to_cell` is the export side's display. Both branch on the field type because
the field types cannot answer yet; the "types" work adds `from_cell`/`to_cell`
to `engine/fields`, and then these two functions become
`registry[f.type].from_cell(...)` / `.to_cell(...)` and nothing else here changes.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable

TRUE = {"true", "yes", "y", "1", "x", "是", "对", "✓"}
FALSE = {"false", "no", "n", "0", "否", "", "✗"}
AMBIGUOUS = -1  # what a link lookup answers when several records share the title
YES_NO = {"zh": ("是", "否")}

Resolve = Callable[[str, Any], "int | None"]  # (target form, cell) → id, None, or AMBIGUOUS


# --- in: a cell → what the field type parses (SWAP for FieldType.from_cell) -----------


def from_cell(f, value: Any, resolve: Resolve) -> Any:
    """A cell → what the field type parses; raises ValueError with the reason."""
    if isinstance(value, str):
        value = value.strip()
    if f.type == "link":
        text = cell_text(value)
        rid = resolve(f.to, value)
        if rid is None:
            raise ValueError(f"no {f.to} {text!r}")
        if rid == AMBIGUOUS:
            raise ValueError(f"more than one {f.to} is called {text!r}")
        return rid
    if f.type in ("choice", "multichoice"):
        labels = {}
        for opt, label in f.option_labels:
            for _, text in label.texts:
                labels[str(text).strip().lower()] = opt

        def one(v):
            v = cell_text(v)
            if v in f.options:
                return v
            return labels.get(v.lower(), v)
        if f.type == "multichoice":
            return [one(v) for v in str(value).replace("；", ";").replace(",", ";").split(";")
                    if v.strip()]
        return one(value)
    if f.type == "boolean":
        if isinstance(value, bool):
            return value
        text = cell_text(value).lower()
        if text in TRUE:
            return True
        if text in FALSE:
            return False
        raise ValueError(f"expected yes or no, got {value!r}")
    if f.type == "date" and isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, float):
        if f.type == "integer" and value.is_integer():
            return int(value)
        return str(Decimal(repr(value)))
    if f.type == "percent" and isinstance(value, str) and value.endswith("%"):
        return value
    return value


# --- out: a stored value → what a person reads (SWAP for FieldType.to_cell) -----------


def to_cell(f, value: Any, *, language: str | None, title: Callable[[str, int], str],
            labels: bool = True) -> Any:
    """A record's value → the cell a person reads and `from_cell` reads back.

    Links become the linked record's title (`title(form, id)`), choices their
    label in `language` (their option value when `labels` is false), booleans
    yes/no, percentages "12.5%". Numbers and dates stay typed (XLSX keeps them
    numbers and dates; CSV writes them as plain text).
    """
    if value is None or value == [] or value == "":
        return None
    kind = f.type
    if kind == "link":
        return title(f.to, value)
    if kind == "choice":
        return _option(f, value, language) if labels else value
    if kind == "multichoice":
        items = [_option(f, v, language) if labels else v for v in value]
        if any("," in i or ";" in i for i in items):  # a label the reader would split
            items = list(value)
        return "; ".join(items)
    if kind == "boolean":
        yes, no = YES_NO.get(language or "", ("yes", "no"))
        return yes if value else no
    if kind == "percent":
        return f"{(Decimal(value) * 100).normalize():f}%"
    if kind == "file":
        return value.get("name") if isinstance(value, dict) else str(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.replace(tzinfo=None)
    return value


def _option(f, option: str, language: str | None) -> str:
    for opt, label in f.option_labels:
        if opt == option and label:
            return label.get(language)
    return option


# --- shared -----------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")
