"""The base field type: every surface a kind of field answers for itself.

A field type turns what a user typed (JSON or form text) into a Python value,
says which expression type it has and how it is stored: in the record's JSON
(`dump`/`load`) and in the form's typed table (`sql_type`/`to_sql`). It also
answers every per-type question the outer layers ask, so a plugin type gets
each surface by subclassing and overriding only what differs:

    HTML form   widget, from_form, to_input, reshow
    reading     display, link_form / link_of
    spreadsheet from_cell, to_cell, cell_format
    API         json_schema, param_schema
    list pages  filter_input, list_filter
    browser     preview

The base class is plain text; families live one per module beside it.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable, Mapping, Protocol

import sqlalchemy as sa

from ..expr import types as T


MAX_TEXT = 100_000  # characters in one text value
MAX_ID = 2 ** 63 - 1  # record ids are BIGINT
MAX_QUERY = 100  # characters of one list-filter value that are looked at


class FieldError(ValueError):
    """One field's value is wrong; the message is shown beside the field."""


class Labels(Protocol):
    """Words a person reads, in their language; the caller (web, exporter) supplies them."""

    def option(self, field, option: str) -> str: ...
    def word(self, key: str) -> str: ...  # "yes", "no"
    def link_title(self, form: str, record_id: Any) -> str: ...
    def number(self, value, places: int | None, money: bool = False) -> str: ...  # 13,500.00
    def moment(self, value) -> str: ...  # a date, or a datetime in the reader's time zone


class PlainLabels:
    """Labels without a web request: option labels in `language`, words as keys, links as #id."""

    def __init__(self, language: str | None = None, titles: Mapping | None = None):
        self.language, self.titles = language, titles or {}

    def option(self, field, option):
        for opt, lbl in field.option_labels:
            if opt == option:
                return lbl.get(self.language)
        return option

    def word(self, key):
        return key

    def link_title(self, form, record_id):
        return self.titles.get((form, str(record_id)), f"#{record_id}")

    def number(self, value, places, money=False):
        return str(value)

    def moment(self, value):
        return value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "hour") else value.isoformat()


# (form, text) → record id, None when no record has that title, -1 when several do
LinkResolver = Callable[[str, str], "int | None"]


def cell_text(value: Any) -> str:
    """A spreadsheet cell as text: 3.0 → "3", None → ""."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def strip_cell(text: str) -> str:
    """Text without surrounding blanks, except a leading TAB/CR/LF before `= + - @`:
    stripping that would turn text someone kept from running back into a formula."""
    stripped = text.strip()
    if text[:1] in ("\t", "\r", "\n") and stripped[:1] in ("=", "+", "-", "@"):
        return text.rstrip()
    return stripped


def literal(text: str) -> str:
    """A user's text as a string literal of the expression language: data, never code."""
    return repr(str(text))


class FieldType:
    name = "text"
    widget = "text"  # the input the web UI renders (templates/_widget.html)
    expr_kind = T.TEXT
    typed = True  # stored in the form's typed table
    filter_input = "text"  # list-page filter: "text", "range", "option", "link" or None
    cell_format: str | None = None  # XLSX number format
    preview_kind = "text"  # how the browser reads an input: text, number, boolean, list

    def expr_type(self, field) -> T.Type:
        return T.t(self.expr_kind)

    # --- values -------------------------------------------------------------------

    def parse(self, field, raw: Any) -> Any:
        """User input → Python value, or FieldError. None and blank text mean no value."""
        if raw is None:
            return None
        if isinstance(raw, (dict, list)):
            raise FieldError("expected text")
        text = strip_cell(str(raw))
        if text == "":
            return None
        if field.max_length and len(text) > field.max_length:
            raise FieldError(f"at most {field.max_length} characters")
        if len(text) > MAX_TEXT:
            raise FieldError(f"at most {MAX_TEXT} characters")
        if "\x00" in text:  # PostgreSQL refuses NUL in text; no user means one
            raise FieldError("contains a NUL character")
        return text

    def empty(self, value: Any) -> bool:
        return value is None or value == "" or value == []

    def dump(self, field, value: Any) -> Any:
        return value

    def load(self, field, value: Any) -> Any:
        return value

    def sql_type(self, field) -> sa.types.TypeEngine | None:
        return sa.Text() if self.typed else None

    def to_sql(self, field, value: Any) -> Any:
        return value

    def scale(self, field) -> int:
        return 0

    def bounds(self, field, value: Any) -> str | None:
        """A message when value is outside min/max, else None."""
        if value is None:
            return None
        lo, hi = self._bound(field, field.min), self._bound(field, field.max)
        if lo is not None and value < lo:
            return f"must be at least {self.dump(field, lo)}"
        if hi is not None and value > hi:
            return f"must be at most {self.dump(field, hi)}"
        return None

    def _bound(self, field, raw):
        if raw is None:
            return None
        try:
            return self.parse(field, raw)
        except FieldError:
            return None

    # --- HTML form ----------------------------------------------------------------

    def from_form(self, field, post, key: str) -> Any:
        """The posted text for input `key` (a MultiDict), or None when the input was not sent."""
        return post.get(key) if key in post else None

    def to_input(self, field, value: Any) -> Any:
        """A Python value → what the input shows (text; a list for multi-valued inputs)."""
        if value is None:
            return ""
        dumped = self.dump(field, value)
        if isinstance(dumped, dict):
            return dumped.get("name", "")
        return "" if dumped is None else str(dumped)

    def reshow(self, field, posted: Any) -> Any:
        """What `from_form` gave → what the input shows again beside an error."""
        return "" if posted is None else posted

    # --- reading ------------------------------------------------------------------

    def display(self, field, value: Any, labels: Labels) -> str:
        """A stored value as a person reads it on record pages and lists (not in inputs)."""
        if value is None or value == "" or value == []:
            return ""
        return str(self.to_input(field, value))

    def link_form(self, field) -> str | None:
        """The form whose record ids this field holds, or None."""
        return None

    def line_target(self, field) -> str | None:
        """`FORM.TABLE` when this field holds the `_id` of one line of that table, else None."""
        return None

    def link_of(self, field, value: Any) -> tuple[str, str] | None:
        """(form, id text) of the record `value` points to, or None."""
        form = self.link_form(field)
        if form is None or value is None or value == "":
            return None
        return form, str(value)

    # --- spreadsheets -------------------------------------------------------------

    def from_cell(self, field, raw: Any, resolve_link: LinkResolver | None = None) -> Any:
        """A CSV/XLSX cell → what `parse` takes; ValueError (FieldError) with the reason."""
        if isinstance(raw, str):
            raw = strip_cell(raw)
        if isinstance(raw, (date, datetime)):
            return raw.isoformat()
        if isinstance(raw, float):
            return str(Decimal(repr(raw)))
        return raw

    def to_cell(self, field, value: Any, labels: Labels | None = None) -> Any:
        """A Python value → a spreadsheet cell (str, int, Decimal, bool, date) `from_cell` reads back.

        With `labels`, choices and links are written as people read them (labels, titles).
        """
        if value is None or value == "":
            return None
        return self.to_input(field, value)

    # --- API ----------------------------------------------------------------------

    def json_schema(self, field, schema_of: Callable[[Any], dict]) -> dict:
        """The JSON Schema of this field's value in the API (`schema_of` for nested fields)."""
        s: dict[str, Any] = {"type": ["string", "null"]}
        if field.max_length:
            s["maxLength"] = field.max_length
        return s

    def param_schema(self, param) -> dict:
        """The JSON Schema of a report parameter of this type (a query-string value)."""
        if param.options:
            return {"enum": list(param.options)}
        return {"type": "string"}

    # --- list filters -------------------------------------------------------------

    def list_filter(self, field, args: Mapping[str, str]) -> tuple[list[str], dict]:
        """Query args `x.<field>…` → expression parts and the args they used."""
        v = (args.get(f"x.{field.name}") or "").strip()[:MAX_QUERY]
        if not v or self.filter_input is None:
            return [], {}
        return self.match_filter(field, v)

    def match_filter(self, field, v: str) -> tuple[list[str], dict]:
        name = field.name
        return [f"contains(lower({name}), lower({literal(v)}))"], {f"x.{name}": v}

    # --- browser ------------------------------------------------------------------

    def preview(self, field, value: Any = None) -> dict:
        """What the browser needs to read and show a value of this type while typing."""
        return {"kind": self.preview_kind, "text": self.to_input(field, value)}
