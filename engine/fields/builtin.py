"""The field-type registry: how each type parses input, stores and is typed.

A field type turns what a user typed (JSON or form text) into a Python value,
says which expression type it has, and how it is stored: in the record's JSON
(`dump`/`load`) and in the form's typed table (`sql_type`/`to_sql`), where
exact decimals are scaled BIGINTs so SUM stays exact on SQLite too.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation, ROUND_HALF_UP
from typing import Any

import sqlalchemy as sa

from ..expr import types as T


MAX_TEXT = 100_000  # characters in one text value
MAX_ID = 2 ** 63 - 1  # record ids are BIGINT


class FieldError(ValueError):
    """One field's value is wrong; the message is shown beside the field."""


class FieldType:
    name = "text"
    widget = "text"  # hint for the web UI
    expr_kind = T.TEXT
    typed = True  # stored in the form's typed table

    def expr_type(self, field) -> T.Type:
        return T.t(self.expr_kind)

    def parse(self, field, raw: Any) -> Any:
        """User input → Python value, or FieldError. None and blank text mean no value."""
        if raw is None:
            return None
        if isinstance(raw, (dict, list)):
            raise FieldError("expected text")
        text = str(raw).strip() if not isinstance(raw, str) else raw.strip()
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


class TextType(FieldType):
    pass


class TextareaType(TextType):
    name = "textarea"
    widget = "textarea"


class EmailType(TextType):
    name = "email"
    widget = "email"
    _re = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

    def parse(self, field, raw):
        text = super().parse(field, raw)
        if text and not self._re.match(text):
            raise FieldError("is not an email address")
        return text


class PhoneType(TextType):
    name = "phone"
    widget = "tel"
    _re = re.compile(r"^\+?[0-9 ()\-./]{3,32}$")

    def parse(self, field, raw):
        text = super().parse(field, raw)
        if text and not self._re.match(text):
            raise FieldError("is not a phone number")
        return text


class IntegerType(FieldType):
    name = "integer"
    widget = "number"
    expr_kind = T.INTEGER

    def parse(self, field, raw):
        if raw is None:
            return None
        if isinstance(raw, bool):
            raise FieldError("expected a whole number")
        if isinstance(raw, int):
            return raw
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        if isinstance(raw, Decimal) and raw.is_finite() and raw == raw.to_integral_value():
            return int(raw)
        text = str(raw).strip().replace(",", "")
        if text == "":
            return None
        if not re.fullmatch(r"[-+]?\d{1,18}", text):
            raise FieldError("expected a whole number")
        return int(text)

    def sql_type(self, field):
        return sa.BigInteger()


class DecimalType(FieldType):
    """Exact decimal; never a float. Stored scaled by 10**scale as BIGINT."""

    name = "decimal"
    widget = "decimal"
    expr_kind = T.DECIMAL
    default_scale = 4

    def scale(self, field) -> int:
        return field.scale if field.scale is not None else self.default_scale

    def parse(self, field, raw):
        if raw is None:
            return None
        if isinstance(raw, bool):
            raise FieldError("expected a number")
        if isinstance(raw, float):
            raw = repr(raw)
        text = str(raw).strip().replace(",", "")
        if text == "":
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise FieldError("expected a number") from None
        if not value.is_finite():
            raise FieldError("expected a number")
        # before quantizing: 1e999999 would overflow the decimal context there
        if abs(value) >= Decimal(10) ** (17 - self.scale(field)):
            raise FieldError("is too large")
        q = Decimal(1).scaleb(-self.scale(field))
        if value != value.quantize(q, rounding=ROUND_HALF_UP) and self.strict_scale:
            raise FieldError(f"at most {self.scale(field)} decimal places")
        value = value.quantize(q, rounding=ROUND_HALF_UP)
        if abs(value) >= Decimal(10) ** (17 - self.scale(field)):
            raise FieldError("is too large")
        return value

    strict_scale = True

    def dump(self, field, value):
        return None if value is None else str(value)

    def load(self, field, value):
        return None if value is None else Decimal(str(value))

    def sql_type(self, field):
        return sa.BigInteger()

    def to_sql(self, field, value):
        return None if value is None else int(value.scaleb(self.scale(field)))

    def quantize(self, field, value: Decimal) -> Decimal:
        return value.quantize(Decimal(1).scaleb(-self.scale(field)), rounding=ROUND_HALF_UP)


class MoneyType(DecimalType):
    name = "money"
    widget = "money"
    expr_kind = T.MONEY
    default_scale = 2


class PercentType(DecimalType):
    """Entered and shown as a percentage (12.5), held as a fraction (0.125)."""

    name = "percent"
    widget = "percent"
    expr_kind = T.PERCENT
    default_scale = 4  # of the fraction: 12.34 % exactly

    def parse(self, field, raw):
        if isinstance(raw, str) and raw.strip().endswith("%"):
            raw = raw.strip()[:-1]
        if isinstance(raw, Decimal):
            return self.quantize(field, raw)
        value = DecimalType.parse(self, _PercentScale(field), raw)
        return None if value is None else self.quantize(field, value / 100)

    def display(self, field, value):
        return None if value is None else (value * 100).normalize()

    # JSON (record data, the API) holds the percentage as typed, "12.50" for 0.125,
    # so a client sending back what it read does not divide it by 100 again.
    def dump(self, field, value):
        return None if value is None else str(self._percentage(field, value))

    def load(self, field, value):
        return None if value is None else self.quantize(field, Decimal(str(value)) / 100)

    def _percentage(self, field, value):
        places = max(self.scale(field) - 2, 0)
        return (value * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)

    def bounds(self, field, value):
        if value is None:
            return None
        for bound, op, word in ((field.min, lambda a, b: a < b, "at least"),
                                (field.max, lambda a, b: a > b, "at most")):
            if bound is not None and op(value * 100, Decimal(str(bound))):
                return f"must be {word} {bound}%"
        return None


class _PercentScale:
    """A field view with two more decimal places, for typed percentages."""

    def __init__(self, field):
        self._field = field
        self.scale = (field.scale if field.scale is not None else PercentType.default_scale) - 2

    def __getattr__(self, name):
        return getattr(self._field, name)


class BooleanType(FieldType):
    name = "boolean"
    widget = "checkbox"
    expr_kind = T.BOOLEAN
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


class DateType(FieldType):
    name = "date"
    widget = "date"
    expr_kind = T.DATE

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

    def dump(self, field, value):
        return None if value is None else value.isoformat()

    def load(self, field, value):
        return None if value is None else date.fromisoformat(value)

    def sql_type(self, field):
        return sa.Date()


class DateTimeType(FieldType):
    name = "datetime"
    widget = "datetime-local"
    expr_kind = T.DATETIME

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

    def dump(self, field, value):
        return None if value is None else value.isoformat()

    def load(self, field, value):
        return None if value is None else datetime.fromisoformat(value)

    def sql_type(self, field):
        return sa.DateTime()


class ChoiceType(FieldType):
    name = "choice"
    widget = "select"

    def expr_type(self, field):
        return T.Type(T.TEXT, options=tuple(field.options))

    def parse(self, field, raw):
        text = super().parse(field, raw)
        if text is None:
            return None
        if text not in field.options:
            labels = {str(lbl).lower(): opt for opt, lbl in field.option_labels}
            for opt, lbl in field.option_labels:
                for _, t in lbl.texts:
                    labels[t.lower()] = opt
            if text.lower() in labels:
                return labels[text.lower()]
            raise FieldError(f"{text!r} is not one of: {', '.join(field.options)}")
        return text


class MultiChoiceType(FieldType):
    name = "multichoice"
    widget = "multiselect"
    typed = False

    def expr_type(self, field):
        return T.list_of(T.Type(T.TEXT, options=tuple(field.options)))

    def parse(self, field, raw):
        if raw is None or raw == "":
            return []
        items = raw if isinstance(raw, list) else [s for s in str(raw).split(",")]
        out = []
        for item in items:
            text = str(item).strip()
            if not text:
                continue
            if text not in field.options:
                raise FieldError(f"{text!r} is not one of: {', '.join(field.options)}")
            if text not in out:
                out.append(text)
        return out


class UserType(FieldType):
    """A username; the engine checks the user exists."""

    name = "user"
    widget = "user"
    expr_kind = T.USER


class LinkType(FieldType):
    """Another form's record, held by id; the engine checks it exists and is readable."""

    name = "link"
    widget = "link"

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


class FileType(FieldType):
    """A file reference: {name, size, sha256}; content lives outside the record."""

    name = "file"
    widget = "file"
    typed = False

    def parse(self, field, raw):
        if raw in (None, ""):
            return None
        if isinstance(raw, dict) and isinstance(raw.get("name"), str):
            return {k: raw[k] for k in ("name", "size", "sha256", "url") if k in raw}
        if isinstance(raw, str):
            return {"name": raw}
        raise FieldError("expected a file")


class TableType(FieldType):
    """Line items: a list of rows, stored one row per line so SQL can aggregate them."""

    name = "table"
    widget = "table"
    typed = False

    def expr_type(self, field):
        # resolved by the caller with the registry (children's types)
        raise NotImplementedError

    def parse(self, field, raw):
        if raw is None or raw == "":
            return []
        if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
            raise FieldError("expected a list of rows")
        return raw

    def empty(self, value):
        return not value


BUILTIN_FIELD_TYPES = (
    TextType(), TextareaType(), EmailType(), PhoneType(), IntegerType(), DecimalType(),
    MoneyType(), PercentType(), BooleanType(), DateType(), DateTimeType(), ChoiceType(),
    MultiChoiceType(), UserType(), LinkType(), FileType(), TableType(),
)


def register_builtin_field_types(registry) -> None:
    for ft in BUILTIN_FIELD_TYPES:
        registry.register(ft.name, ft)


def expr_type_of(field, field_types) -> T.Type:
    """The expression type of a field, recursing into line-item tables."""
    if field.type == "table":
        return T.table({c.name: expr_type_of(c, field_types) for c in field.fields})
    ft = field_types.get(field.type)
    if ft is None:
        return T.t(T.ANY)
    return ft.expr_type(field)
