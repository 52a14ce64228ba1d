"""Compiling expressions to SQLAlchemy Core for SQLite and PostgreSQL.

The terms and building blocks are in `sqlterms.py` (re-exported here).

Exact decimals live in typed tables as scaled BIGINTs (value × 10**scale), so
arithmetic stays integer arithmetic: + - and comparisons rescale to the larger
scale, * adds scales. Division leaves exactness behind: its result is a REAL
(SQLite) or NUMERIC (PostgreSQL) that is already unscaled (`scale=None`).
User literals are always bound parameters; only integers the compiler computes
itself (rescaling factors) and fixed keywords appear in the SQL text.
"""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import BindParameter, ColumnElement, TypeCoerce

from ..errors import ExpressionError
from . import nodes as n
from . import types as T
from .budget import over_budget
from .checker import check
from .limits import MAX_SQL_DEPTH, MAX_SQL_LENGTH
from .sqlterms import (  # re-exported: plugins build on engine.expr.sql
    DEFAULT_SCALES as DEFAULT_SCALES,
    MAX_EXACT_SCALE as MAX_EXACT_SCALE,
    SqlScope as SqlScope,
    SqlTerm as SqlTerm,
    add_days as add_days,
    align as align,
    apply_aggregate as apply_aggregate,
    approx as approx,
    approx_type as approx_type,
    bind as bind,
    const as const,
    days_between as days_between,
    days_of as days_of,
    floor as floor,
    floor_div as floor_div,
    is_null as is_null,
    least_greatest as least_greatest,
    never_null as never_null,
    null as null,
    position as position,
    rescale as rescale,
    scaled as scaled,
    sa_type as sa_type,
    to_python as to_python,
    truth as truth,
    where_form as where_form,
)
from .types import Type


_DIALECTS = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect()}
# Expressions whose SQL passed the budget. The same text over the same names compiles to
# SQL of the same shape every request (a filter paged through, a report's columns), and
# measuring it means rendering it (~0.3 ms), so the verdict is kept. Keyed by the names
# and their types (scopes build a fresh Env each time) and the forms map, which the
# entry holds so its id cannot be reused meanwhile.
_WITHIN_BUDGET: dict = {}
_WITHIN_BUDGET_SIZE = 1024


def compile_sql(expr, scope: SqlScope, functions) -> SqlTerm:
    checked = check(expr, scope.env, functions)
    term = _Compiler(scope, functions, checked).visit(expr.tree)
    env = scope.env
    key = (expr.source, scope.dialect, type(scope), id(env.forms), tuple(env.names.items()))
    if _WITHIN_BUDGET.get(key) is not env.forms:
        check_sql_budget(term, scope.dialect)
        if len(_WITHIN_BUDGET) >= _WITHIN_BUDGET_SIZE:
            _WITHIN_BUDGET.clear()  # atomic, unlike evicting one while other threads add
        _WITHIN_BUDGET[key] = env.forms
    return term


def check_sql_budget(term: SqlTerm, dialect: str) -> None:
    """Refuse SQL longer or more deeply nested than the database parses comfortably.

    Measured on the rendered text: its length, and the deepest parentheses (the
    compiler adds casts, NULL guards and rescaling the expression does not show).
    """
    text = str(term.expr.compile(dialect=_DIALECTS.get(dialect, _DIALECTS["sqlite"])))
    if len(text) > MAX_SQL_LENGTH:
        raise over_budget(f"expression is too large for the database: its SQL would be longer "
                          f"than {MAX_SQL_LENGTH} characters", 0)
    depth = deepest = 0
    for ch in text:
        if ch == "(":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif ch == ")":
            depth -= 1
    if deepest > MAX_SQL_DEPTH:
        raise over_budget(f"expression is nested too deeply for the database: its SQL would "
                          f"nest {deepest} levels, at most {MAX_SQL_DEPTH}", 0)


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
        for _ in range(k - 1):  # left-deep: SQL parsers reduce a*b*c as they go
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
            if _known_value(x) or _known_value(y):
                # against a value that is not NULL, `=` selects what IS NOT DISTINCT FROM does
                # and an index serves it (PostgreSQL's never serves IS NOT DISTINCT FROM);
                # never-NULL, as `where_form` expects, so NOT and values keep Python's answer
                return never_null(x == y)
            return x.is_not_distinct_from(y)
        if op == "!=":
            return x.is_distinct_from(y)
        cmp = {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]
        return never_null(cmp)

    def _membership(self, a: SqlTerm, right_node, b: SqlTerm, node) -> ColumnElement:
        if is_null(a) or (b is not None and is_null(b)):
            return sa.false()
        if b is not None and b.type.kind in (T.TEXT, T.USER):
            return never_null(position(b.expr, a.expr, self.dialect) > const(0))
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
        # A bare NULL branch is typed like the other branch: PostgreSQL types an untyped
        # `CASE … THEN NULL ELSE NULL END` as text, which an enclosing CASE cannot mix
        # with numbers.
        sql_type = (orelse if is_null(body) else body).expr.type
        if isinstance(sql_type, sa.types.NullType):
            sql_type = sa_type(t)
        then, other = ((sa.cast(sa.null(), sql_type) if is_null(x) else x.expr) for x in (body, orelse))
        return SqlTerm(sa.case((test, then), else_=other), t, scale)

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


def _known_value(e: ColumnElement) -> bool:
    """A value bound in the statement that is not NULL (a literal, a parameter of the filter,
    the acting record's value where a statement is kept per shape of empty values)."""
    if isinstance(e, TypeCoerce):
        e = e.clause
    return isinstance(e, BindParameter) and not e.expanding and e.callable is None \
        and e.value is not None
