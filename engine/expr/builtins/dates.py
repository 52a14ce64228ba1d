"""Dates and the clock: today, now, days_between, add_days, month/week/year starts, parts."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa

from .. import sqlterms as S
from .. import types as T
from ..sqlterms import SqlTerm
from .rules import DATE, DATETIME, INT, arity, expect, one_argument


def rule_days_between(args):
    arity(args, 2)
    for i, a in enumerate(args):
        expect(a, (T.DATE, T.DATETIME), "a date", i)
    return INT


def rule_add_days(args):
    arity(args, 2)
    expect(args[0], (T.DATE,), "a date")
    expect(args[1], (T.INTEGER,), "a whole number", 1)
    return DATE


rule_date_to_date = one_argument((T.DATE, T.DATETIME), "a date", DATE)
rule_date_part = one_argument((T.DATE, T.DATETIME), "a date", INT)


def _day(d):
    return d.date() if isinstance(d, datetime) else d


def py_days_between(a, b):
    return None if a is None or b is None else (_day(b) - _day(a)).days


def py_add_days(d, n):
    return None if d is None or n is None else d + timedelta(days=n)


def py_month_start(d):
    return None if d is None else _day(d).replace(day=1)


def py_week_start(d):
    return None if d is None else _day(d) - timedelta(days=_day(d).weekday())


def py_year_start(d):
    return None if d is None else date(d.year, 1, 1)


def py_part(attr):
    def part(d):
        return None if d is None else getattr(d, attr)
    return part


def py_quarter(d):
    return None if d is None else (d.month + 2) // 3


def sql_today(args, scope):
    return S.bind(scope.today(), DATE)


def sql_now(args, scope):
    return S.bind(scope.now(), DATETIME)


def sql_days_between(args, scope):
    a, b = args
    if S.is_null(a) or S.is_null(b):
        return S.null(INT)
    return SqlTerm(S.days_between(a.expr, b.expr, scope.dialect), INT, 0)


def sql_add_days(args, scope):
    d, days = args
    if S.is_null(d) or S.is_null(days):
        return S.null(DATE)
    return S.add_days(d, days.expr, scope.dialect)


def sql_trunc(unit: str, sqlite_modifiers: tuple[str, ...]):
    def build(args, scope):
        d = args[0].expr
        if scope.dialect == "postgresql":
            e = sa.cast(sa.func.date_trunc(sa.literal_column(f"'{unit}'"), d), sa.Date)
        else:
            mods = [sa.literal_column(f"'{m}'") for m in sqlite_modifiers]
            e = sa.func.date(d, *mods, type_=sa.Date)
        return SqlTerm(e, DATE, 0)
    return build


def sql_part(unit: str, fmt: str):
    def build(args, scope):
        d = args[0].expr
        if scope.dialect == "postgresql":
            e = sa.cast(sa.extract(unit, d), sa.BigInteger)
        else:
            e = sa.cast(sa.func.strftime(sa.literal_column(f"'{fmt}'"), d), sa.BigInteger)
        return SqlTerm(e, INT, 0)
    return build


def sql_quarter(args, scope):
    month = sql_part("month", "%m")(args, scope).expr
    return SqlTerm((month + S.const(2)) // S.const(3), INT, 0)
