"""Yes/no fields: a checkbox in forms, yes/no/是/否 in spreadsheets."""
from __future__ import annotations

import sqlalchemy as sa

from ..expr import types as T
from .base import FieldError, FieldType, cell_text

# what a spreadsheet cell may say (the form and API accept `_true`/`_false`)
CELL_TRUE = {"true", "yes", "y", "1", "x", "是", "对", "✓"}
CELL_FALSE = {"false", "no", "n", "0", "否", "", "✗"}


class BooleanType(FieldType):
    name = "boolean"
    widget = "checkbox"
    expr_kind = T.BOOLEAN
    filter_input = None
    preview_kind = "boolean"
    _true = {"true", "1", "yes", "on", "y", "t"}
    _false = {"false", "0", "no", "off", "n", "f", ""}

    def parse(self, field, raw):
        if isinstance(raw, bool):
            return raw
        if raw is None:
            return None
        text = str(raw).strip().lower()
        if text in self._true:
            return True
        if text in self._false:
            return False
        raise FieldError("expected yes or no")

    def empty(self, value):
        return value is None

    def sql_type(self, field):
        return sa.Boolean()

    # An unticked checkbox is not posted at all: absence means "false".
    def from_form(self, field, post, key):
        return "true" if post.get(key) else "false"

    def to_input(self, field, value):
        return "true" if value else ""

    def reshow(self, field, posted):
        return "true" if posted == "true" else ""

    def display(self, field, value, labels):
        if value is None:
            return ""
        return labels.word("yes") if value else labels.word("no")

    def from_cell(self, field, raw, resolve_link=None):
        if isinstance(raw, str):
            raw = raw.strip()
        if isinstance(raw, bool):
            return raw
        text = cell_text(raw).lower()
        if text in CELL_TRUE:
            return True
        if text in CELL_FALSE:
            return False
        raise FieldError(f"expected yes or no, got {raw!r}")

    def to_cell(self, field, value, labels=None):
        if value is None or labels is None:
            return value
        return labels.word("yes" if value else "no")  # a word `from_cell` reads back

    def json_schema(self, field, schema_of):
        return {"type": ["boolean", "null"]}

    def param_schema(self, param):
        return {"type": "boolean"}
