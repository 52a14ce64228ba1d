"""Example plugin: business-day arithmetic and a star-rating field type.

A plugin is a module with `register(registries)`, listed under the
`loom.plugins` entry-point group (see pyproject.toml). It adds to the same
registries the built-ins use, so its function type-checks in `loom check`,
runs in Python for `compute`/`if`/`validate`, and compiles to SQL for lists,
reports and alert scans; its field type parses, validates and is stored like
any other.

    business_days(order_date, due_date)   weekdays from the first date up to,
                                          not including, the second (negative
                                          when the second is earlier)
    {name: satisfaction, type: rating}    a whole number of stars, 1 to 5
"""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from engine.errors import ExpressionError
from engine.expr import SqlTerm
from engine.expr import sql as S
from engine.expr import types as T
from engine.fields import FieldError, IntegerType

INT = T.t(T.INTEGER)


def _day(d):
    return d.date() if isinstance(d, datetime) else d


def _forward(a: date, b: date) -> int:
    days = (b - a).days
    start = a.weekday()  # Monday = 0
    full, rem = divmod(days, 7)
    # weekdays among the `rem` days after the full weeks: those before Saturday
    # in this week, plus those of the next week the remainder reaches into
    part = max(0, min(start + rem, 5) - min(start, 5)) + max(0, min(start + rem - 7, 5))
    return full * 5 + part


def business_days(a, b):
    if a is None or b is None:
        return None
    a, b = _day(a), _day(b)
    return _forward(a, b) if a <= b else -_forward(b, a)


def _rule(args):
    if len(args) != 2:
        raise ExpressionError(f"business_days() takes 2 arguments, got {len(args)}")
    for i, a in enumerate(args):
        if a.kind not in (T.DATE, T.DATETIME, T.NULL, T.ANY):
            raise ExpressionError(f"argument {i + 1} of business_days() must be a date, not {a}")
    return INT


def _weekday(d, dialect: str):
    """Monday = 0 … Sunday = 6."""
    if dialect == "postgresql":
        return sa.cast(sa.extract("isodow", d), sa.BigInteger) - S.const(1)
    sunday_first = sa.cast(sa.func.strftime(sa.literal_column("'%w'"), d), sa.BigInteger)
    return (sunday_first + S.const(6)) % S.const(7)


def _least(a, b, dialect: str):
    return sa.func.least(a, b) if dialect == "postgresql" else sa.func.min(a, b)


def _greatest(a, b, dialect: str):
    return sa.func.greatest(a, b) if dialect == "postgresql" else sa.func.max(a, b)


def _forward_sql(a, b, dialect: str):
    days = S.days_between(a, b, dialect)
    start = _weekday(a, dialect)
    full, rem = S.floor_div(days, S.const(7), dialect), days % S.const(7)  # days >= 0 here
    zero, five, seven = S.const(0), S.const(5), S.const(7)
    part = (_greatest(zero, _least(start + rem, five, dialect) - _least(start, five, dialect), dialect)
            + _greatest(zero, _least(start + rem - seven, five, dialect), dialect))
    return full * five + part


def _sql(args, scope):
    a, b = args
    if S.is_null(a) or S.is_null(b):
        return S.null(INT)
    d = scope.dialect
    forward = sa.type_coerce(_forward_sql(a.expr, b.expr, d), sa.BigInteger)
    backward = sa.type_coerce(_forward_sql(b.expr, a.expr, d), sa.BigInteger)
    e = sa.case((S.days_between(a.expr, b.expr, d) >= S.const(0), forward), else_=-backward)
    return SqlTerm(e, INT, 0)


class RatingType(IntegerType):
    """Stars from 1 to 5 (a bounded whole number; `max` may lower the top)."""

    name = "rating"
    widget = "rating"

    def parse(self, field, raw):
        value = super().parse(field, raw)
        top = int(field.max) if field.max is not None else 5
        if value is not None and not 1 <= value <= top:
            raise FieldError(f"must be between 1 and {top} stars")
        return value


def register(registries) -> None:
    """Entry point of the `loom.plugins` group."""
    registries.functions.register("business_days", business_days, _rule, _sql)
    registries.field_types.register("rating", RatingType())
