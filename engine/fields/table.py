"""Line items: a list of rows, stored one row per line so SQL can aggregate them."""
from __future__ import annotations

from .base import FieldError, FieldType


class TableType(FieldType):
    name = "table"
    widget = "table"
    typed = False
    filter_input = None
    preview_kind = "rows"

    def expr_type(self, field):
        # resolved by expr_type_of with the registry (the cells' types)
        raise NotImplementedError

    def parse(self, field, raw):
        if raw is None or raw == "":
            return []
        if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
            raise FieldError("expected a list of rows")
        return raw

    def empty(self, value):
        return not value

    # Rows are not one cell: importers and exporters give them their own sheet.
    def to_cell(self, field, value, labels=None):
        return None

    def to_input(self, field, value):
        return ""

    def display(self, field, value, labels):
        return ""

    def json_schema(self, field, schema_of):
        # `_id`: the line's stable id; send it back to keep the line (engine/forms/lines.py)
        props = {"_id": {"type": "string"}, **{c.name: schema_of(c) for c in field.fields}}
        return {"type": ["array", "null"], "items": {"type": "object", "properties": props,
                                                       "additionalProperties": False}}
