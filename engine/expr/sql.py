"""Compiling expressions to SQLAlchemy Core for SQLite and PostgreSQL.

Exact decimals live in typed tables as scaled BIGINTs (value × 10**scale), so
arithmetic stays integer arithmetic: + - and comparisons rescale to the larger
scale, * adds scales. Division leaves exactness behind: its result is a REAL
(SQLite) or NUMERIC (PostgreSQL) that is already unscaled (`scale=None`).
User literals are always bound parameters; only integers the compiler computes
itself (rescaling factors) and fixed keywords appear in the SQL text.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable, Protocol

import sqlalchemy as sa
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from ..errors import ExpressionError
from . import nodes as n
from . import types as T
from .checker import Env, check
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


def compile_sql(expr, scope: SqlScope, functions) -> SqlTerm:
    checked = check(expr, scope.env, functions)
    term = _Compiler(scope, functions, checked).visit(expr.tree)
    return term


# -- building blocks, shared with the built-in functions -------------------------

def sa_type(t: Type):
    """The SQLAlchemy type a value of `t` is bound or read with."""
    return {T.TEXT: sa.Text, T.USER: sa.Text, T.BOOLEAN: sa.Boolean, T.DATE: sa.Date,
            T.DATETIME: sa.DateTime}.get(t.kind, sa.BigInteger)()


def const(value: int) -> ColumnElement:
    """An integer the compiler computed (never user input), inline so GROUP BY matches."""
    return sa.literal_column(str(int(value)), sa.BigInteger)


def bind(value: Any, t: Type) -> SqlTerm:
    """A user literal as a bound parameter."""
    if t.kind in T.DECIMALS and isinstance(value, Decimal):
        scale = max(0, -value.as_tuple().exponent)
        return SqlTerm(sa.literal(int(value.scaleb(scale)), sa.BigInteger), t, scale)
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


# -- the compiler ------------------------------------------------------------------

class _Compiler:
    def __init__(self, scope: SqlScope, functions, checked):
        self.scope = scope
        self.dialect = scope.dialect
        self.functions = functions
        self.checked = checked

    def fail(self, message: str, node) -> ExpressionError:
        return ExpressionError(message, node.offset)

    def visit(self, node) -> SqlTerm:
        return getattr(self, "_" + type(node).__name__)(node)

    def _Const(self, node):
        t = self.checked.of(node)
        if node.value is None:
            return null(t)
        value = self.checked.literals.get(id(node), node.value)
        if isinstance(value, datetime):
            return bind(value, T.t(T.DATETIME))
        if isinstance(value, date):
            return bind(value, T.t(T.DATE))
        return bind(value, t)

    def _Path(self, node):
        t = self.checked.of(node)
        if t.kind in (T.LIST, T.TABLE):
            raise self.fail(f"{'.'.join(node.parts)} is a list; in SQL use it inside "
                            "sum(), count(), min(), max() or avg()", node)
        term = self.scope.column(node.parts)
        return SqlTerm(term.expr, t, term.scale)

    def _Unary(self, node):
        x = self.visit(node.operand)
        if node.op == "not":
            return SqlTerm(sa.not_(truth(x)), T.t(T.BOOLEAN), 0)
        if node.op == "-" and not is_null(x):
            return SqlTerm(-x.expr, x.type, x.scale)
        return x

    def _Binary(self, node):
        t = self.checked.of(node)
        a, b = self.visit(node.left), self.visit(node.right)
        if is_null(a) or is_null(b):
            return null(T.t(T.NULL))  # NULL stays recognisable, so no operator sees it
        ka, kb, op = a.type.kind, b.type.kind, node.op
        if T.ANY in (ka, kb) or T.LIST in (ka, kb):
            raise self.fail(f"'{op}' on {a.type} and {b.type} is not available in SQL", node)
        if ka == T.TEXT:
            return SqlTerm(sa.type_coerce(a.expr, sa.Text).concat(b.expr), t, 0)
        if ka == T.DATE or kb == T.DATE:
            return self._date_arithmetic(op, a, b, t)
        if op == "**":
            return self._power(a, node.right.value, t)
        if op == "/":
            x, y = approx(a, self.dialect), approx(b, self.dialect)
            return SqlTerm(x.expr / sa.func.nullif(y.expr, const(0)), t, None)
        x, y = align([a, b], self.dialect)
        if op == "*":
            if x.scale is None:
                return SqlTerm(x.expr * y.expr, t, None)
            if a.scale + b.scale > MAX_EXACT_SCALE:
                p, q = approx(a, self.dialect), approx(b, self.dialect)
                return SqlTerm(p.expr * q.expr, t, None)
            left = a.expr
            if self.dialect == "postgresql" and a.scale + b.scale:
                left = sa.cast(left, sa.Numeric)  # arbitrary precision: no BIGINT overflow
            return SqlTerm(left * b.expr, t, a.scale + b.scale)
        if op in ("+", "-"):
            e = x.expr + y.expr if op == "+" else x.expr - y.expr
            return self._narrow(SqlTerm(e, t, x.scale))
        if op in ("//", "%"):
            if x.scale is None:
                q = floor(x.expr / sa.func.nullif(y.expr, const(0)))
            else:
                q = floor_div(x.expr, y.expr, self.dialect)
            if op == "//":
                return SqlTerm(q, t, 0 if x.scale is not None else None)
            return self._narrow(SqlTerm(x.expr - y.expr * q, t, x.scale))
        raise self.fail(f"'{op}' is not available in SQL", node)

    def _narrow(self, term: SqlTerm) -> SqlTerm:
        """Integer results stay integers even when a literal gave them a scale."""
        if term.type.kind == T.INTEGER and term.scale not in (0, None):
            raise ExpressionError("internal: integer with a scale")
        return term

    def _date_arithmetic(self, op, a: SqlTerm, b: SqlTerm, t: Type) -> SqlTerm:
        if a.type.kind == b.type.kind == T.DATE:
            return SqlTerm(days_between(b.expr, a.expr, self.dialect), t, 0)
        d, days = (a, b) if a.type.kind == T.DATE else (b, a)
        e = days.expr if op == "+" else -days.expr
        return add_days(d, e, self.dialect)

    def _power(self, a: SqlTerm, k: int, t: Type) -> SqlTerm:
        if k == 0:
            return SqlTerm(sa.case((a.expr.is_(None), sa.null()), else_=const(1)), t, 0)
        exact = a.scale is not None and a.scale * k <= MAX_EXACT_SCALE
        base = a if exact else approx(a, self.dialect)
        e = base.expr
        for _ in range(k - 1):
            e = e * base.expr
        return SqlTerm(e, t, a.scale * k if exact else None)

    def _BoolOp(self, node):
        parts = [truth(self.visit(v)) for v in node.values]
        e = sa.and_(*parts) if node.op == "and" else sa.or_(*parts)
        return SqlTerm(e, T.t(T.BOOLEAN), 0)

    def _Compare(self, node):
        # a list literal is only ever the right side of `in`, compiled item by item there
        terms = [None if isinstance(o, n.ListLit) else self.visit(o) for o in node.operands]
        conds = []
        for i, op in enumerate(node.ops):
            conds.append(self._compare(op, terms[i], node.operands[i + 1], terms[i + 1], node))
        e = conds[0] if len(conds) == 1 else sa.and_(*conds)
        return SqlTerm(e, T.t(T.BOOLEAN), 0)

    def _compare(self, op, a: SqlTerm, right_node, b: SqlTerm, node) -> ColumnElement:
        if op in ("in", "not in"):
            cond = self._membership(a, right_node, b, node)
            return sa.not_(cond) if op == "not in" else cond
        if is_null(b) or is_null(a):
            other = a if is_null(b) else b
            if op == "==":
                return other.expr.is_(None)
            if op == "!=":
                return other.expr.is_not(None)
            return sa.false()
        if a.type.is_numeric and b.type.is_numeric:
            a, b = align([a, b], self.dialect)
        x, y = a.expr, b.expr
        if op == "==":
            return x.is_not_distinct_from(y)
        if op == "!=":
            return x.is_distinct_from(y)
        cmp = {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]
        return never_null(cmp)

    def _membership(self, a: SqlTerm, right_node, b: SqlTerm, node) -> ColumnElement:
        if is_null(a) or (b is not None and is_null(b)):
            return sa.false()
        if b is not None and b.type.kind in (T.TEXT, T.USER):
            return never_null(_position(b.expr, a.expr, self.dialect) > const(0))
        if not isinstance(right_node, n.ListLit):
            raise self.fail("'in' needs a list literal on the right in SQL", node)
        items = [self.visit(i) for i in right_node.items]
        items = [i for i in items if not is_null(i)]
        if not items:
            return sa.false()
        if a.type.is_numeric:
            aligned = align([a, *items], self.dialect)
            a, items = aligned[0], aligned[1:]
        if all(isinstance(i.expr, BindParameter) for i in items):
            values = [i.expr.value for i in items]
            return never_null(a.expr.in_(values))
        return never_null(sa.or_(*[a.expr == i.expr for i in items]))

    def _IfExp(self, node):
        t = self.checked.of(node)
        test = truth(self.visit(node.test))
        body, orelse = self.visit(node.body), self.visit(node.orelse)
        if t.is_numeric:
            body, orelse = align([body, orelse], self.dialect)
        scale = body.scale if not is_null(body) else orelse.scale
        return SqlTerm(sa.case((test, body.expr), else_=orelse.expr), t, scale)

    def _ListLit(self, node):
        raise self.fail("a list is only available in SQL on the right of 'in'", node)

    def _Call(self, node):
        fn = self.functions[node.name]
        t = self.checked.of(node)
        if fn.aggregate and len(node.args) == 1:
            arg = node.args[0]
            at = self.checked.of(arg)
            if isinstance(arg, n.Path) and at.kind in (T.LIST, T.TABLE):
                term = self._aggregate(fn.name, arg)
                return SqlTerm(term.expr, t, term.scale)
            if isinstance(arg, n.ListLit):
                return self._list_aggregate(fn.name, arg, t, node)
        if fn.sql is None:
            raise self.fail(f"{node.name}() is not available in SQL", node)
        args = [self.visit(a) for a in node.args]
        try:
            term = fn.sql(args, self.scope)
        except ExpressionError as exc:
            raise ExpressionError(f"{node.name}(): {exc.message}", node.offset) from None
        return SqlTerm(term.expr, t, term.scale)

    def _aggregate(self, agg: str, path: n.Path) -> SqlTerm:
        t = self.scope.env.names[path.parts[0]]
        i = 1
        while t.kind != T.TABLE and i < len(path.parts):
            t = self._field(t, path.parts[i])
            i += 1
        if t.kind != T.TABLE:
            raise self.fail(f"{'.'.join(path.parts)}: only line items can be aggregated in SQL",
                            path)
        table_path, rest = path.parts[:i], path.parts[i:]
        build = (lambda line: line.column(rest)) if rest else (lambda line: None)
        return self.scope.aggregate(table_path, build, agg)

    def _field(self, t: Type, name: str) -> Type:
        if t.kind == T.LINK:
            return self.scope.env.forms[t.form][name]
        if t.kind == T.USER:
            return T.USER_ATTRIBUTES[name]
        return t.field_map()[name]

    def _list_aggregate(self, agg: str, arg: n.ListLit, t: Type, node) -> SqlTerm:
        items = [self.visit(i) for i in arg.items]
        items = [i for i in items if not is_null(i)]
        if agg == "count":
            return SqlTerm(const(len(items)), t, 0)
        if agg == "sum":
            if not items:
                return SqlTerm(const(0), t, 0)
            items = align(items, self.dialect)
            e = sa.func.coalesce(items[0].expr, const(0))
            for i in items[1:]:
                e = e + sa.func.coalesce(i.expr, const(0))
            return SqlTerm(e, t, items[0].scale)
        if agg in ("min", "max"):
            return least_greatest(agg, items, t, self.dialect)
        raise self.fail(f"{agg}() of a list is not available in SQL", node)


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


def _position(haystack, needle, dialect: str) -> ColumnElement:
    if dialect == "postgresql":
        return sa.func.strpos(haystack, needle, type_=sa.BigInteger)
    return sa.func.instr(haystack, needle, type_=sa.BigInteger)
