"""A file reference: {name, size, sha256}; the content lives outside the record."""
from __future__ import annotations

from .base import FieldError, FieldType


class FileType(FieldType):
    name = "file"
    widget = "file"
    typed = False
    filter_input = None

    def parse(self, field, raw):
        if raw in (None, ""):
            return None
        if isinstance(raw, dict) and isinstance(raw.get("name"), str):
            return {k: raw[k] for k in ("name", "size", "sha256", "url") if k in raw}
        if isinstance(raw, str):
            return {"name": raw}
        raise FieldError("expected a file")

    def to_cell(self, field, value, labels=None):
        if not value:
            return None
        return value.get("name") if isinstance(value, dict) else str(value)

    def json_schema(self, field, schema_of):
        return {"type": ["object", "null"], "properties": {"name": {"type": "string"}}}
