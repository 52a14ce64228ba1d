"""The built-in functions: Python implementation, type rule and SQL for each.

They register exactly as a plugin's functions would (`Functions.register`).
Python implementations treat None like SQL does: it propagates through
scalar functions and is skipped by aggregates.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from ..errors import ExpressionError
from . import sql as S
from . import types as T
from .checker import unify
from .sql import SqlTerm
from .types import Type

INT, TEXT, BOOL = T.t(T.INTEGER), T.t(T.TEXT), T.t(T.BOOLEAN)
DATE, DATETIME, DECIMAL = T.t(T.DATE), T.t(T.DATETIME), T.t(T.DECIMAL)
_LOOSE = (T.NULL, T.ANY)


# -- type rules -------------------------------------------------------------------

def arity(args, lo, hi=None):
    hi = lo if hi is None else hi
    if not lo <= len(args) <= hi:
        want = str(lo) if lo == hi else f"{lo} to {hi}"
        raise ExpressionError(f"takes {want} argument{'s' if hi != 1 else ''}, "
                              f"got {len(args)}")


def expect(t: Type, kinds, what: str, i: int = 0):
    if t.kind not in kinds and t.kind not in _LOOSE:
        raise ExpressionError(f"argument {i + 1} must be {what}, not {t}")


def items_of(args) -> Type:
    """The element type of an aggregate's single list argument."""
    arity(args, 1)
    t = args[0]
    if t.kind in _LOOSE:
        return T.t(T.ANY)
    if t.kind == T.TABLE:
        return t.item
    if t.kind != T.LIST:
        raise ExpressionError(f"needs a list such as lines.amount, not {t}")
    return t.item or T.t(T.ANY)


def numeric_items(args) -> Type:
    item = items_of(args)
    if item.kind == T.ANY:
        return item
    if not item.is_numeric:
        raise ExpressionError(f"needs numbers, not a list of {item}")
    return item


def rule_count(args):
    items_of(args)
    return INT


def rule_sum(args):
    return numeric_items(args)


def rule_avg(args):
    item = numeric_items(args)
    return item if item.kind in (T.MONEY, T.ANY) else DECIMAL


def rule_min_max(args):
    if len(args) == 1:
        item = items_of(args)
        if item.kind == T.ROW:
            raise ExpressionError("needs a field of the line items, like lines.amount")
        return item
    if not args:
        raise ExpressionError("takes a list or at least 2 values")
    return _unify_all(args, "cannot compare {} with {}")


def rule_round(args):
    arity(args, 1, 2)
    expect(args[0], T.NUMERIC, "a number")
    if len(args) == 2:
        expect(args[1], (T.INTEGER,), "a whole number", 1)
    return args[0]


def rule_abs(args):
    arity(args, 1)
    expect(args[0], T.NUMERIC, "a number")
    return args[0]


def rule_len(args):
    arity(args, 1)
    expect(args[0], (T.TEXT, T.USER, T.LIST, T.TABLE), "text or a list")
    return INT


def rule_coalesce(args):
    if not args:
        raise ExpressionError("takes at least 1 argument")
    return _unify_all(args, "cannot mix {} and {}")


def _unify_all(args, message: str):
    """The one type all `args` fit (NULL fits any); `message` names the first clash."""
    result = T.t(T.NULL)
    for t in args:
        u = unify(result, t)
        if u is None:
            raise ExpressionError(message.format(result, t))
        result = u
    return result


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


def one_argument(kinds, what: str, result: Type):
    """The type rule of a function of one argument of `kinds` that gives `result`."""

    def rule(args):
        arity(args, 1)
        expect(args[0], kinds, what)
        return result

    return rule


rule_date_to_date = one_argument((T.DATE, T.DATETIME), "a date", DATE)
rule_date_part = one_argument((T.DATE, T.DATETIME), "a date", INT)
rule_text = one_argument((T.TEXT, T.USER), "text", TEXT)


def rule_contains(args):
    arity(args, 2)
    expect(args[0], (T.TEXT, T.USER), "text")
    expect(args[1], (T.TEXT, T.USER), "text", 1)
    return BOOL


def rule_has_role(args):
    arity(args, 1)
    expect(args[0], (T.TEXT,), "a role name")
    return BOOL


def constant(result: Type):
    def rule(args):
        arity(args, 0)
        return result
    return rule


# -- Python implementations ---------------------------------------------------------

def _values(args):
    seq = args[0] if len(args) == 1 and isinstance(args[0], (list, tuple)) else args
    return [v for v in seq if v is not None]


def py_sum(values):
    return sum(_values([values]), 0)


def py_count(values):
    return len(_values([values])) if values is not None else 0


def py_min(*args):
    values = _values(args)
    return min(values) if values else None


def py_max(*args):
    values = _values(args)
    return max(values) if values else None


def py_avg(values):
    values = _values([values])
    return Decimal(sum(values, 0)) / len(values) if values else None


def py_round(x, digits=0):
    if x is None or digits is None:
        return None
    q = Decimal(x).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return int(q) if isinstance(x, int) else q


def py_abs(x):
    return None if x is None else abs(x)


def py_len(x):
    return None if x is None else len(x)


def py_coalesce(*args):
    return next((a for a in args if a is not None), None)


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


def py_upper(s):
    return None if s is None else s.upper()


def py_lower(s):
    return None if s is None else s.lower()


def py_contains(text, part):
    return text is not None and part is not None and part in text


def py_has_role(ctx, role):
    user = ctx.user
    return user is not None and role in (getattr(user, "roles", None) or ())


# -- SQL implementations ------------------------------------------------------------

def sql_today(args, scope):
    return S.bind(scope.today(), DATE)


def sql_now(args, scope):
    return S.bind(scope.now(), DATETIME)


def sql_has_role(args, scope):
    role = args[0].expr
    if not isinstance(role, sa.sql.elements.BindParameter):
        raise ExpressionError("in SQL the role must be a literal, like has_role('finance')")
    return S.bind(bool(scope.has_role(role.value)), BOOL)


def sql_min_max(agg):
    def build(args, scope):
        return S.least_greatest(agg, [a for a in args if not S.is_null(a)], args[0].type,
                                scope.dialect)
    return build


def sql_round(args, scope):
    x = args[0]
    digits = args[1].expr.value if len(args) == 2 and isinstance(
        args[1].expr, sa.sql.elements.BindParameter) else 0 if len(args) == 1 else None
    if x.scale is not None and digits is not None:
        if digits >= x.scale:
            return x
        # half away from zero in integer arithmetic, as Decimal's ROUND_HALF_UP
        f = 10 ** (x.scale - digits)
        half = S.const(f // 2)
        up = S.floor_div(x.expr + half, S.const(f), scope.dialect) * S.const(f)
        down = -S.floor_div(half - x.expr, S.const(f), scope.dialect) * S.const(f)
        return SqlTerm(sa.case((x.expr >= S.const(0), up), else_=down), x.type, x.scale)
    a = S.approx(x, scope.dialect)
    n = args[1].expr if len(args) == 2 else S.const(0)
    if scope.dialect == "postgresql":  # round(numeric, integer) is the only exact overload
        return SqlTerm(sa.func.round(sa.cast(a.expr, sa.Numeric), sa.cast(n, sa.Integer)),
                       x.type, None)
    return SqlTerm(sa.func.round(a.expr, n), x.type, None)


def sql_abs(args, scope):
    x = args[0]
    return SqlTerm(sa.func.abs(x.expr), x.type, x.scale)


def sql_len(args, scope):
    return SqlTerm(sa.func.length(args[0].expr, type_=sa.BigInteger), INT, 0)


def sql_coalesce(args, scope):
    terms = [a for a in args if not S.is_null(a)]
    if not terms:
        return S.null(T.t(T.NULL))
    if all(t.type.is_numeric for t in terms):
        terms = S.align(terms, scope.dialect)
    e = terms[0].expr if len(terms) == 1 else sa.func.coalesce(*[t.expr for t in terms])
    return SqlTerm(e, terms[0].type, terms[0].scale)


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


def sql_text_fn(name: str):
    def build(args, scope):
        # SQLite's upper/lower only change ASCII letters; PostgreSQL's follow the collation
        return SqlTerm(getattr(sa.func, name)(args[0].expr, type_=sa.Text), TEXT, 0)
    return build


def sql_contains(args, scope):
    text, part = args
    if S.is_null(text) or S.is_null(part):
        return SqlTerm(sa.false(), BOOL, 0)
    pos = S._position(text.expr, part.expr, scope.dialect)
    return SqlTerm(S.never_null(pos > S.const(0)), BOOL, 0)


def register_builtins(functions) -> None:
    r = functions.register
    r("today", lambda ctx: ctx.today(), constant(DATE), sql_today, uses_context=True)
    r("now", lambda ctx: ctx.now(), constant(DATETIME), sql_now, uses_context=True)
    r("has_role", py_has_role, rule_has_role, sql_has_role, uses_context=True)
    r("sum", py_sum, rule_sum, aggregate=True)
    r("count", py_count, rule_count, aggregate=True)
    r("min", py_min, rule_min_max, sql_min_max("min"), aggregate=True)
    r("max", py_max, rule_min_max, sql_min_max("max"), aggregate=True)
    r("avg", py_avg, rule_avg, aggregate=True)
    r("round", py_round, rule_round, sql_round)
    r("abs", py_abs, rule_abs, sql_abs)
    r("len", py_len, rule_len, sql_len)
    r("coalesce", py_coalesce, rule_coalesce, sql_coalesce)
    r("days_between", py_days_between, rule_days_between, sql_days_between)
    r("add_days", py_add_days, rule_add_days, sql_add_days)
    r("month_start", py_month_start, rule_date_to_date,
      sql_trunc("month", ("start of month",)))
    r("week_start", py_week_start, rule_date_to_date, sql_trunc("week", ("-6 days", "weekday 1")))
    r("year_start", py_year_start, rule_date_to_date, sql_trunc("year", ("start of year",)))
    r("start_of_year", py_year_start, rule_date_to_date, sql_trunc("year", ("start of year",)))
    r("year", py_part("year"), rule_date_part, sql_part("year", "%Y"))
    r("month", py_part("month"), rule_date_part, sql_part("month", "%m"))
    r("quarter", py_quarter, rule_date_part, sql_quarter)
    r("upper", py_upper, rule_text, sql_text_fn("upper"))
    r("lower", py_lower, rule_text, sql_text_fn("lower"))
    r("contains", py_contains, rule_contains, sql_contains)
