"""A reference to another form's record, held by id."""
from __future__ import annotations

import re

import sqlalchemy as sa

from ..expr import types as T
from .base import MAX_ID, FieldError, FieldType, cell_text

ID_RE = re.compile(r"^\d{1,15}$")  # an id typed into a list filter


class LinkType(FieldType):
    """Another form's record, held by id; the engine checks it exists and is readable."""

    name = "link"
    widget = "link"
    filter_input = "link"

    def expr_type(self, field):
        return T.link(field.to)

    def parse(self, field, raw):
        if raw is None or raw == "":
            return None
        if isinstance(raw, dict) and "id" in raw:
            raw = raw["id"]
        if isinstance(raw, bool):
            raise FieldError("expected a record id")
        text = str(raw).strip()
        if isinstance(raw, int) or (text.isdigit() and text.isascii()):
            value = int(text)
            if 0 < value <= MAX_ID:
                return value
        raise FieldError(f"expected the id of a {field.to} record")

    def sql_type(self, field):
        return sa.BigInteger()

    def link_form(self, field):
        return field.to

    def display(self, field, value, labels):
        return "" if value in (None, "") else labels.link_title(field.to, value)

    # A cell names the linked record by its title (a name, a number), never by id.
    def from_cell(self, field, raw, resolve_link=None):
        text = cell_text(raw)
        rid = resolve_link(field.to, raw) if resolve_link is not None else None
        if rid is None:
            raise FieldError(f"no {field.to} {text!r}")
        if rid == -1:
            raise FieldError(f"more than one {field.to} is called {text!r}")
        return rid

    def to_cell(self, field, value, labels=None):
        if value in (None, ""):
            return None
        return labels.link_title(field.to, value) if labels is not None else value

    def json_schema(self, field, schema_of):
        return {"type": ["integer", "null"], "description": f"id of a {field.to} record"}

    def match_filter(self, field, v):
        if not ID_RE.match(v):
            return [], {}
        return [f"{field.name} == {int(v)}"], {f"x.{field.name}": v}
