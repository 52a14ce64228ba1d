"""A reference to another form's record, held by id."""
from __future__ import annotations

import re

import sqlalchemy as sa

from ..expr import types as T
from .base import MAX_ID, FieldError, FieldType, cell_text, literal

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


LINE_ID_MAX = 64  # characters of a line id


class LineLinkType(LinkType):
    """One line of another record's table (`to: FORM.TABLE`), held by the line's `_id`.

    Built from `type: link` when `to` names a table; `within` (a link field of the
    same record or row) limits it to the lines of the record that field links to.
    It is not a record link (`link_form` is None): pickers, titles and checks ask
    `line_target` instead.
    """

    name = "line_link"
    filter_input = "text"

    def parse(self, field, raw):
        if raw is None or raw == "":
            return None
        if isinstance(raw, dict):
            raw = raw.get("_id", raw.get("id"))
        if isinstance(raw, (bool, dict, list)) or raw is None:
            raise FieldError("expected the id of a line")
        text = str(raw).strip()
        if not text or len(text) > LINE_ID_MAX or not text.isprintable():
            raise FieldError("expected the id of a line")
        return text

    def sql_type(self, field):
        return sa.String(LINE_ID_MAX)

    def link_form(self, field):
        return None

    def line_target(self, field):
        return field.to

    def link_of(self, field, value):
        return None if value in (None, "") else (field.to, str(value))

    def from_cell(self, field, raw, resolve_link=None):
        return cell_text(raw)

    # A spreadsheet carries the line's id: it is what an import reads back (a line has no
    # title unique enough to resolve, and line ids survive an export/import round trip).
    def to_cell(self, field, value, labels=None):
        return None if value in (None, "") else value

    def json_schema(self, field, schema_of):
        return {"type": ["string", "null"], "description": f"the _id of a line of {field.to}"}

    def match_filter(self, field, v):
        return [f"{field.name} == {literal(v)}"], {f"x.{field.name}": v}
