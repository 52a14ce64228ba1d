"""SQL terms: what compiled SQL is made of, and the building blocks that make it.

Exact decimals live in typed tables as scaled BIGINTs (value × 10**scale), so
arithmetic stays integer arithmetic: + - and comparisons rescale to the larger
scale, * adds scales. Division leaves exactness behind: its result is a REAL
(SQLite) or NUMERIC (PostgreSQL) that is already unscaled (`scale=None`).
The compiler (`sql.py`), the built-in functions and plugins share these
blocks; `sql.py` re-exports them, so `engine.expr.sql` stays the one name
plugins import.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable, Protocol

import sqlalchemy as sa
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import (AsBoolean, BindParameter, BooleanClauseList, ColumnElement,
                                       False_)
from sqlalchemy.sql.functions import FunctionElement

from ..errors import ExpressionError
from . import types as T
from .checker import Env
from .types import Type

DEFAULT_SCALES = {T.MONEY: 2, T.DECIMAL: 4, T.PERCENT: 4}
MAX_EXACT_SCALE = 12  # past this a BIGINT holds too few whole digits; go approximate


@dataclass(frozen=True)
class SqlTerm:
    """A compiled expression: the column expression, its type and its scale.

    `scale` is the power of ten exact decimals are multiplied by (money 2,
    decimal and percent 4, everything else 0); None means the value is
    approximate and already unscaled (after `/` or `avg`).
    """

    expr: ColumnElement
    type: Type
    scale: int | None = 0


class SqlScope(Protocol):
    """Where names come from when compiling to SQL (implemented by the store).

    - `dialect`: "sqlite" or "postgresql".
    - `env`: the `Env` the expression is type-checked against.
    - `column(path)`: the SqlTerm for a name or dotted path — `('total',)`,
      `('project', 'region')` (the scope adds the JOIN for each link hop),
      `('user', 'name')` or a report parameter (bound parameters). Decimal
      columns report their stored scale.
    - `aggregate(table_path, build, agg)`: `agg` ("sum", "count", "min", "max",
      "avg", or a plugin's aggregate name) over the line items at `table_path`
      of the current record, typically a correlated scalar subquery. `build`
      receives the scope of one line and returns the SqlTerm to aggregate, or
      None for `count(lines)` (count rows). `apply_aggregate` builds the
      aggregate call itself with the right scale and NULL rules.
    - `has_role(role)`, `today()`, `now()`: the acting user and the clock,
      folded into bound parameters.
    """

    dialect: str
    env: Env

    def column(self, path: tuple[str, ...]) -> SqlTerm: ...

    def aggregate(self, table_path: tuple[str, ...],
                  build: Callable[["SqlScope"], SqlTerm | None], agg: str) -> SqlTerm: ...

    def has_role(self, role: str) -> bool: ...

    def today(self) -> date: ...

    def now(self) -> datetime: ...


def sa_type(t: Type):
    """The SQLAlchemy type a value of `t` is bound or read with."""
    return {T.TEXT: sa.Text, T.USER: sa.Text, T.BOOLEAN: sa.Boolean, T.DATE: sa.Date,
            T.DATETIME: sa.DateTime}.get(t.kind, sa.BigInteger)()


def const(value: int) -> ColumnElement:
    """An integer the compiler computed (never user input), inline so GROUP BY matches."""
    return sa.literal_column(str(int(value)), sa.BigInteger)


def scaled(value: Decimal) -> tuple[int, int]:
    """An exact decimal as SQL compares it: (value × 10**scale as an integer, scale)."""
    scale = max(0, -value.as_tuple().exponent)
    return int(value.scaleb(scale)), scale


def bind(value: Any, t: Type) -> SqlTerm:
    """A user literal as a bound parameter."""
    if t.kind in T.DECIMALS and isinstance(value, Decimal):
        number, scale = scaled(value)
        return SqlTerm(sa.literal(number, sa.BigInteger), t, scale)
    return SqlTerm(sa.literal(value, sa_type(t)), t, 0)


def null(t: Type) -> SqlTerm:
    return SqlTerm(sa.null(), t, 0)


def is_null(term: SqlTerm) -> bool:
    return term.type.kind == T.NULL


def approx_type(dialect: str):
    return sa.Numeric() if dialect == "postgresql" else sa.Float()


def approx(term: SqlTerm, dialect: str) -> SqlTerm:
    """The unscaled, approximate value of a term (for `/`, `avg` and mixing with them)."""
    if term.scale is None or is_null(term):
        return SqlTerm(term.expr, term.type, None)
    x = sa.cast(term.expr, approx_type(dialect))
    if term.scale:
        x = x / sa.cast(const(10 ** term.scale), approx_type(dialect))
    return SqlTerm(x, term.type, None)


def rescale(term: SqlTerm, scale: int) -> SqlTerm:
    if term.scale == scale or is_null(term):
        return SqlTerm(term.expr, term.type, scale)
    factor = 10 ** (scale - term.scale)
    e = term.expr
    if isinstance(e, BindParameter) and isinstance(e.value, int) and not isinstance(e.value, bool):
        return SqlTerm(sa.literal(e.value * factor, sa.BigInteger), term.type, scale)
    return SqlTerm(const(factor) * e, term.type, scale)


def align(terms: list[SqlTerm], dialect: str) -> list[SqlTerm]:
    """Bring terms to one representation: a common scale, or all approximate."""
    real = [t for t in terms if not is_null(t)]
    if any(t.scale is None for t in real):
        return [approx(t, dialect) for t in terms]
    scale = max((t.scale for t in real), default=0)
    return [rescale(t, scale) for t in terms]


def truth(term: SqlTerm) -> ColumnElement:
    """Python truthiness as a never-NULL SQL boolean."""
    k = term.type.kind
    if k == T.NULL:
        return sa.false()
    if k == T.BOOLEAN:
        return sa.func.coalesce(term.expr, sa.false(), type_=sa.Boolean)
    if term.type.is_numeric:
        return sa.func.coalesce(term.expr != const(0), sa.false(), type_=sa.Boolean)
    if k in (T.TEXT, T.USER):
        return sa.func.coalesce(term.expr != sa.literal_column("''", sa.Text), sa.false(),
                                type_=sa.Boolean)
    return term.expr.is_not(None)


def never_null(cond: ColumnElement) -> ColumnElement:
    return sa.func.coalesce(cond, sa.false(), type_=sa.Boolean)


def where_form(cond: ColumnElement) -> ColumnElement:
    """`cond` for a WHERE clause: drop the never-NULL wrappers `coalesce(x, false)`.

    The expression compiler makes every boolean never-NULL (Python semantics, right
    for NOT and for values). In WHERE, through AND and OR only, `coalesce(x, false)`
    selects exactly the rows `x` selects — and a bare `owner = :o` can use the index
    on owner where the wrapped one is a scan of the whole table (list filters, report
    filters, a step's `update ... where`, alert scans).
    """
    if isinstance(cond, BooleanClauseList) and cond.operator in (operators.and_, operators.or_):
        parts = [where_form(c) for c in cond.clauses]
        return sa.and_(*parts) if cond.operator is operators.and_ else sa.or_(*parts)
    if isinstance(cond, AsBoolean) and cond.operator is operators.is_true:
        inner = where_form(cond.element)
        return inner if inner is not cond.element else cond
    if isinstance(cond, FunctionElement) and getattr(cond, "name", "").lower() == "coalesce":
        args = list(cond.clauses)
        if len(args) == 2 and isinstance(args[1], False_):
            return where_form(args[0])
    return cond


def floor_div(a: ColumnElement, b: ColumnElement, dialect: str) -> ColumnElement:
    """Python's `//` on integers (SQL `/` truncates toward zero); NULL when b is 0."""
    if dialect == "postgresql":
        a, b = sa.cast(a, sa.BigInteger), sa.cast(b, sa.BigInteger)
    else:  # typed as integers, SQLAlchemy renders a plain (truncating) `/`
        a, b = sa.type_coerce(a, sa.BigInteger), sa.type_coerce(b, sa.BigInteger)
    b = sa.func.nullif(b, const(0), type_=sa.BigInteger)
    q = a // b
    signs_differ = sa.or_(sa.and_(a < const(0), b > const(0)), sa.and_(a > const(0), b < const(0)))
    return sa.case((sa.and_(signs_differ, q * b != a), q - const(1)), else_=q)


def floor(x: ColumnElement) -> ColumnElement:
    """FLOOR for approximate values without relying on SQLite's optional math functions."""
    i = sa.cast(x, sa.BigInteger)
    return sa.case((x < i, i - const(1)), else_=i)


def days_of(d: ColumnElement, dialect: str) -> ColumnElement:
    """A date as a day number, for day arithmetic on SQLite."""
    return sa.func.julianday(sa.func.date(d), type_=sa.Float)


def add_days(d: SqlTerm, days: ColumnElement, dialect: str) -> SqlTerm:
    if dialect == "postgresql":
        return SqlTerm(sa.cast(d.expr, sa.Date) + sa.cast(days, sa.Integer), T.t(T.DATE), 0)
    return SqlTerm(sa.func.date(days_of(d.expr, dialect) + days, type_=sa.Date), T.t(T.DATE), 0)


def days_between(a: ColumnElement, b: ColumnElement, dialect: str) -> ColumnElement:
    """b - a in whole days."""
    if dialect == "postgresql":
        return sa.cast(sa.cast(b, sa.Date) - sa.cast(a, sa.Date), sa.BigInteger)
    return sa.cast(days_of(b, dialect) - days_of(a, dialect), sa.BigInteger)


def apply_aggregate(agg: str, inner: SqlTerm | None, dialect: str) -> SqlTerm:
    """The aggregate call over one line's term; scopes wrap it in their subquery."""
    if agg == "count":
        e = sa.func.count() if inner is None else sa.func.count(inner.expr)
        return SqlTerm(e, T.t(T.INTEGER), 0)
    if inner is None:
        raise ExpressionError(f"{agg}() needs a field of the line items, like lines.amount")
    if agg == "sum":
        # SUM of no rows is NULL in SQL; the language says 0
        e = sa.func.coalesce(sa.func.sum(inner.expr), const(0))
        return SqlTerm(e, inner.type, inner.scale)
    if agg in ("min", "max"):
        return SqlTerm(getattr(sa.func, agg)(inner.expr, type_=inner.expr.type), inner.type,
                       inner.scale)
    if agg == "avg":
        x = approx(inner, dialect)
        return SqlTerm(sa.func.avg(x.expr, type_=approx_type(dialect)), inner.type, None)
    raise ExpressionError(f"{agg}() is not available in SQL")


def to_python(value: Any, term: SqlTerm) -> Any:
    """A fetched SQL value as the Python value `compile_python` would give."""
    if value is None:
        return None
    k = term.type.kind
    if k == T.BOOLEAN:
        return bool(value)
    if k == T.DATE:
        if isinstance(value, datetime):
            return value.date()
        return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    if k == T.DATETIME:
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        return datetime.fromisoformat(str(value))
    if isinstance(value, bool) or k in (T.TEXT, T.USER):
        return value
    if isinstance(value, (int, float, Decimal)):
        if isinstance(value, float):
            value = Decimal(repr(value))
        if term.scale is None:
            if k == T.INTEGER and value == value.to_integral_value():
                return int(value)
            return Decimal(value)
        if k in T.DECIMALS:
            return Decimal(int(value)).scaleb(-term.scale) if term.scale else Decimal(int(value))
        return int(value)
    return value


def least_greatest(agg: str, items: list[SqlTerm], t: Type, dialect: str) -> SqlTerm:
    """min/max of several values, skipping NULLs (as the Python side does)."""
    if not items:
        return null(t)
    if t.is_numeric:
        items = align(items, dialect)
    acc = items[0].expr
    for i in items[1:]:
        x = i.expr
        better = x < acc if agg == "min" else x > acc
        acc = sa.case((acc.is_(None), x), (sa.and_(x.is_not(None), better), x), else_=acc)
    return SqlTerm(acc, t, items[0].scale)


def position(haystack, needle, dialect: str) -> ColumnElement:
    if dialect == "postgresql":
        return sa.func.strpos(haystack, needle, type_=sa.BigInteger)
    return sa.func.instr(haystack, needle, type_=sa.BigInteger)
