"""Dates and date-times (date-times held naive in UTC)."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone

import sqlalchemy as sa

from ..expr import types as T
from .base import FieldError, FieldType, MAX_QUERY

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _Temporal(FieldType):
    filter_input = "range"
    python_type: type  # date or datetime: JSON holds its ISO text

    def dump(self, field, value):
        return None if value is None else value.isoformat()

    def load(self, field, value):
        return None if value is None else self.python_type.fromisoformat(value)

    def to_cell(self, field, value, labels=None):
        return value

    def list_filter(self, field, args):
        """`x.<field>.from` / `.to`: an inclusive range of days."""
        parts, asked = [], {}
        for suffix, op in ((".from", ">="), (".to", "<=")):
            key = f"x.{field.name}{suffix}"
            v = (args.get(key) or "").strip()[:MAX_QUERY]
            if DATE_RE.match(v):
                parts.append(f"{field.name} {op} {v!r}")
                asked[key] = v
        return parts, asked


class DateType(_Temporal):
    python_type = date
    name = "date"
    widget = "date"
    expr_kind = T.DATE
    cell_format = "yyyy-mm-dd"

    def parse(self, field, raw):
        if isinstance(raw, datetime):
            return raw.date()
        if isinstance(raw, date):
            return raw
        if raw is None:
            return None
        text = str(raw).strip()
        if text == "":
            return None
        try:
            return date.fromisoformat(text[:10]) if len(text) >= 10 and text[10:11] in ("", "T", " ") \
                else date.fromisoformat(text)
        except ValueError:
            raise FieldError("expected a date as YYYY-MM-DD") from None

    def sql_type(self, field):
        return sa.Date()

    # Excel keeps dates as date-times at midnight
    def from_cell(self, field, raw, resolve_link=None):
        if isinstance(raw, datetime):
            return raw.date().isoformat()
        return super().from_cell(field, raw, resolve_link)

    def json_schema(self, field, schema_of):
        return {"type": ["string", "null"], "format": "date"}

    def param_schema(self, param):
        return {"type": "string", "format": "date"}

    def display(self, field, value, labels):
        return labels.moment(value) if isinstance(value, date) else super().display(field, value, labels)


class DateTimeType(_Temporal):
    python_type = datetime
    name = "datetime"
    widget = "datetime-local"
    expr_kind = T.DATETIME
    cell_format = "yyyy-mm-dd hh:mm:ss"

    def parse(self, field, raw):
        if raw is None:
            return None
        if isinstance(raw, datetime):
            value = raw
        else:
            text = str(raw).strip()
            if text == "":
                return None
            try:
                value = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise FieldError("expected a date and time as YYYY-MM-DDTHH:MM") from None
        # Stored naive in UTC so SQL comparisons agree on both dialects.
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def sql_type(self, field):
        return sa.DateTime()

    def to_input(self, field, value):
        if hasattr(value, "strftime"):
            return value.strftime("%Y-%m-%dT%H:%M")  # what <input type=datetime-local> takes
        return super().to_input(field, value)

    def display(self, field, value, labels):
        if hasattr(value, "strftime"):
            return labels.moment(value)
        return super().display(field, value, labels)

    def json_schema(self, field, schema_of):
        return {"type": ["string", "null"], "format": "date-time"}
