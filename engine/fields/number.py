"""Number family: whole numbers and exact decimals (plain, money, percent).

Exact decimals are never floats; the typed table holds them scaled by
10**scale as BIGINT so SUM stays exact on SQLite too.
"""
from __future__ import annotations

import functools
import re
from decimal import Decimal, InvalidOperation, ROUND_HALF_UP

import sqlalchemy as sa

from ..expr import types as T
from .base import FieldError, FieldType

DECIMAL_SCHEMA = {"type": ["string", "null"], "pattern": r"^-?[0-9]+(\.[0-9]+)?%?$",
                  "description": "exact decimal as a string"}
INTEGER_RE = re.compile(r"^-?\d{1,15}$")


@functools.cache
def limit(scale: int) -> Decimal:
    """The smallest value too large for a decimal of `scale` places (17 digits in all)."""
    return Decimal(10) ** (17 - scale)


@functools.cache
def step(scale: int) -> Decimal:
    """One unit of the last of `scale` places (what values are quantized to)."""
    return Decimal(1).scaleb(-scale)


class IntegerType(FieldType):
    name = "integer"
    widget = "number"
    expr_kind = T.INTEGER
    cell_format = "0"
    preview_kind = "number"

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

    def display(self, field, value, labels):
        return "" if value is None else labels.number(value, 0)

    def sql_type(self, field):
        return sa.BigInteger()

    def from_cell(self, field, raw, resolve_link=None):
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        return super().from_cell(field, raw, resolve_link)

    def to_cell(self, field, value, labels=None):
        return value

    def json_schema(self, field, schema_of):
        s = {"type": ["integer", "null"]}
        if field.min is not None:
            s["minimum"] = int(field.min)
        if field.max is not None:
            s["maximum"] = int(field.max)
        return s

    def param_schema(self, param):
        return {"type": "integer"}

    def match_filter(self, field, v):
        if not INTEGER_RE.match(v):
            return [], {}
        return [f"{field.name} == {int(v)}"], {f"x.{field.name}": v}

    def preview(self, field, value=None):
        return dict(super().preview(field, value), places=0)


class DecimalType(FieldType):
    """Exact decimal; never a float. Stored scaled by 10**scale as BIGINT."""

    name = "decimal"
    widget = "decimal"
    expr_kind = T.DECIMAL
    default_scale = 4
    strict_scale = True
    filter_input = None
    cell_format = "#,##0.####"
    preview_kind = "number"
    money = False  # shown with the app's currency

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
        if abs(value) >= limit(self.scale(field)):
            raise FieldError("is too large")
        q = step(self.scale(field))
        if value != value.quantize(q, rounding=ROUND_HALF_UP) and self.strict_scale:
            raise FieldError(f"at most {self.scale(field)} decimal places")
        value = value.quantize(q, rounding=ROUND_HALF_UP)
        if abs(value) >= limit(self.scale(field)):
            raise FieldError("is too large")
        return value

    def dump(self, field, value):
        return None if value is None else str(value)

    def load(self, field, value):
        return None if value is None else Decimal(str(value))

    def sql_type(self, field):
        return sa.BigInteger()

    def to_sql(self, field, value):
        return None if value is None else int(value.scaleb(self.scale(field)))

    def quantize(self, field, value: Decimal) -> Decimal:
        return value.quantize(step(self.scale(field)), rounding=ROUND_HALF_UP)

    def to_cell(self, field, value, labels=None):
        return value

    def json_schema(self, field, schema_of):
        return dict(DECIMAL_SCHEMA)

    def param_schema(self, param):
        return {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}

    def preview(self, field, value=None):
        return dict(super().preview(field, value), places=self.scale(field))

    def display(self, field, value, labels):
        if value is None:
            return ""
        return labels.number(value, self.scale(field), money=self.money)


class MoneyType(DecimalType):
    name = "money"
    widget = "money"
    expr_kind = T.MONEY
    default_scale = 2
    cell_format = "#,##0.00"
    money = True


class PercentType(DecimalType):
    """Entered and shown as a percentage (12.5), held as a fraction (0.125)."""

    name = "percent"
    widget = "percent"
    expr_kind = T.PERCENT
    default_scale = 4  # of the fraction: 12.34 % exactly
    cell_format = None  # written as text "12.5%": a fraction cell would read back as 0.125 %

    def parse(self, field, raw):
        if isinstance(raw, str) and raw.strip().endswith("%"):
            raw = raw.strip()[:-1]
        if isinstance(raw, Decimal):
            return self.quantize(field, raw)
        value = DecimalType.parse(self, _PercentScale(field), raw)
        return None if value is None else self.quantize(field, value / 100)

    # JSON (record data, the API) holds the percentage as typed, "12.50" for 0.125,
    # so a client sending back what it read does not divide it by 100 again.
    def dump(self, field, value):
        return None if value is None else str(self._percentage(field, value))

    def load(self, field, value):
        return None if value is None else self.quantize(field, Decimal(str(value)) / 100)

    def _percentage(self, field, value):
        places = max(self.scale(field) - 2, 0)
        return (value * 100).quantize(step(places), rounding=ROUND_HALF_UP)

    def bounds(self, field, value):
        if value is None:
            return None
        for bound, op, word in ((field.min, lambda a, b: a < b, "at least"),
                                (field.max, lambda a, b: a > b, "at most")):
            if bound is not None and op(value * 100, Decimal(str(bound))):
                return f"must be {word} {bound}%"
        return None

    def display(self, field, value, labels):
        text = FieldType.display(self, field, value, labels)
        return text + "%" if text else ""

    def to_cell(self, field, value, labels=None):
        if value is None:
            return None
        return f"{(Decimal(value) * 100).normalize():f}%"  # 0.125 → "12.5%", as people write it

    def preview(self, field, value=None):
        return dict(super().preview(field, value), places=max(self.scale(field) - 2, 0))


class _PercentScale:
    """A field view with two more decimal places, for typed percentages."""

    def __init__(self, field):
        self._field = field
        self.scale = (field.scale if field.scale is not None else PercentType.default_scale) - 2

    def __getattr__(self, name):
        return getattr(self._field, name)
