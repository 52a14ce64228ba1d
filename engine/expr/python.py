"""Compiling the checked tree, once, into nested Python closures.

Evaluation never walks the tree again and never calls eval/exec. Values:
Decimal for money, decimal and percent (never float; int / int gives
Decimal), date, datetime, str, int, bool, None and lists. None behaves as
in SQL: arithmetic with None gives None, ordering comparisons with None are
False, `==`/`!=` treat None as a value.
"""
from __future__ import annotations

import operator
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any, Callable

from ..errors import ExpressionError
from . import types as T
from .checker import check
from .limits import MAX_SIZE
from .types import Type


def compile_python(expr, env, functions) -> Callable[[Any], Any]:
    checked = check(expr, env, functions)
    root = _Compiler(checked, functions, env).visit(expr.tree)

    def evaluate(ctx):
        try:
            return root(ctx)
        except (TypeError, ArithmeticError) as exc:  # data the types did not promise
            raise ExpressionError(f"cannot evaluate {expr.source!r}: {exc}") from None

    return evaluate


# -- coercing stored values to the Python value of their static type -----------------

def _to_decimal(v):
    if v is None or type(v) is Decimal:
        return v
    if isinstance(v, bool):
        return v
    if isinstance(v, float):
        return Decimal(repr(v))
    try:
        return Decimal(v)
    except (InvalidOperation, TypeError):
        return v


def _to_date(v):
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, str):
        return date.fromisoformat(v[:10])
    return v


def _to_datetime(v):
    return datetime.fromisoformat(v) if isinstance(v, str) else v


def _to_username(v):
    return v if v is None or isinstance(v, str) else getattr(v, "name", v)


def coercer(t: Type) -> Callable[[Any], Any] | None:
    k = t.kind
    if k in T.DECIMALS:
        return _to_decimal
    if k == T.DATE:
        return _to_date
    if k == T.DATETIME:
        return _to_datetime
    if k == T.USER:
        return _to_username
    if k == T.LIST and t.item is not None:
        item = coercer(t.item)
        if item is not None:
            return lambda v: v if v is None else [item(x) for x in v]
    return None


# -- runtime operations ---------------------------------------------------------------

def _capped(value, offset):
    if isinstance(value, (str, list)) and len(value) > MAX_SIZE:
        raise ExpressionError(f"the result would be longer than {MAX_SIZE}", offset)
    return value


def _arith(op: str, offset: int) -> Callable[[Any, Any], Any]:
    def add(a, b):
        if isinstance(a, date) and isinstance(b, int):
            return a + timedelta(days=b)
        if isinstance(b, date) and isinstance(a, int):
            return b + timedelta(days=a)
        return _capped(a + b, offset)

    def sub(a, b):
        if isinstance(a, date) and isinstance(b, int):
            return a - timedelta(days=b)
        if isinstance(a, date) and isinstance(b, date):
            return (a - b).days
        return a - b

    def mul(a, b):
        for seq, times in ((a, b), (b, a)):
            if isinstance(seq, (str, list)) and isinstance(times, int):
                if len(seq) * times > MAX_SIZE:  # refuse before building it
                    raise ExpressionError(f"the result would be longer than {MAX_SIZE}", offset)
        return a * b

    def div(a, b):
        if b == 0:
            raise ExpressionError("division by zero", offset)
        return Decimal(a) / Decimal(b)

    def floordiv(a, b):
        if b == 0:
            raise ExpressionError("division by zero", offset)
        if isinstance(a, int) and isinstance(b, int):
            return a // b
        return int((Decimal(a) / Decimal(b)).to_integral_value(ROUND_FLOOR))

    def mod(a, b):
        # Python's sign rule for Decimal too (Decimal's own % truncates)
        return a - b * floordiv(a, b)

    def power(a, b):
        return a ** b

    fn = {"+": add, "-": sub, "*": mul, "/": div, "//": floordiv, "%": mod, "**": power}[op]

    def apply(a, b):
        return None if a is None or b is None else fn(a, b)

    return apply


def _ordering(op: str, offset: int):
    cmp = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}[op]

    def compare(a, b):
        if a is None or b is None:
            return False
        try:
            return cmp(a, b)
        except TypeError:
            raise ExpressionError(f"cannot compare {type(a).__name__} with "
                                  f"{type(b).__name__}", offset) from None
    return compare


def _member(a, b):
    if a is None or b is None:
        return False
    if isinstance(b, str) and not isinstance(a, str):
        return False
    return a in b


_COMPARE = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "in": _member,
    "not in": lambda a, b: not _member(a, b),
}


class _Compiler:
    def __init__(self, checked, functions, env):
        self.checked = checked
        self.functions = functions
        self._env = env

    def visit(self, node) -> Callable[[Any], Any]:
        return getattr(self, "_" + type(node).__name__)(node)

    def _Const(self, node):
        value = self.checked.literals.get(id(node), node.value)
        return lambda ctx: value

    def _Path(self, node):
        env_type = self.checked_env_type(node.parts[0])
        name = node.parts[0]
        if name == "user" and env_type.kind == T.USER:
            if len(node.parts) == 1:
                get = lambda ctx: _to_username(ctx.user)  # noqa: E731
            else:
                get = lambda ctx: ctx.user  # noqa: E731
        else:
            get = lambda ctx: ctx.value(name)  # noqa: E731
        t = env_type
        for attr in node.parts[1:]:
            get, t = self._hop(get, t, attr)
        final = coercer(self.checked.of(node))
        if final is None:
            return get
        return lambda ctx: final(get(ctx))

    def checked_env_type(self, name: str) -> Type:
        return self._env.names[name]

    def _hop(self, get, t: Type, attr: str):
        step, result = self._step(t, attr)
        return (lambda ctx: step(ctx, get(ctx))), result

    def _step(self, t: Type, attr: str):
        """(ctx, value) -> value one field further, and the type it has."""
        k = t.kind
        if k == T.LINK:
            form = t.form
            result = self._env.forms[form][attr]

            def link(ctx, v):
                record = None if v is None else ctx.load(form, v)
                return None if record is None else record.get(attr)
            return link, result
        if k == T.USER:
            def user(ctx, v):
                obj = ctx.load_user(v) if isinstance(v, str) else v
                return None if obj is None else getattr(obj, attr, None)
            return user, T.USER_ATTRIBUTES[attr]
        if k == T.ROW:
            return (lambda ctx, v: None if v is None else v.get(attr)), t.field_map()[attr]
        if k == T.TABLE:
            return ((lambda ctx, rows: [r.get(attr) for r in rows or ()]),
                    T.list_of(t.field_map()[attr]))
        if k == T.LIST and t.item is not None and t.item.kind != T.ANY:
            inner, result = self._step(t.item, attr)
            return (lambda ctx, vs: None if vs is None else [inner(ctx, v) for v in vs]), \
                T.list_of(result)
        # ANY: only mappings are looked into; never getattr on unknown objects
        return (lambda ctx, v: v.get(attr) if isinstance(v, Mapping) else None), T.t(T.ANY)

    def _Unary(self, node):
        x = self.visit(node.operand)
        if node.op == "not":
            return lambda ctx: not x(ctx)
        if node.op == "-":
            def neg(ctx):
                v = x(ctx)
                return None if v is None else -v
            return neg
        return x

    def _Binary(self, node):
        a, b = self.visit(node.left), self.visit(node.right)
        op = _arith(node.op, node.offset)
        wrap = coercer(self.checked.of(node)) if node.op in ("*", "+", "-", "**") else None

        if wrap is _to_decimal:  # e.g. a percent literal 0 * money stays Decimal
            return lambda ctx: _to_decimal(op(a(ctx), b(ctx)))
        return lambda ctx: op(a(ctx), b(ctx))

    def _BoolOp(self, node):
        parts = tuple(self.visit(v) for v in node.values)
        if node.op == "and":
            return lambda ctx: all(p(ctx) for p in parts)
        return lambda ctx: any(p(ctx) for p in parts)

    def _Compare(self, node):
        operands = [self.visit(o) for o in node.operands]
        ops = [_COMPARE.get(op) or _ordering(op, off) for op, off in zip(node.ops, node.offsets)]
        if len(ops) == 1:
            a, b, op = operands[0], operands[1], ops[0]
            return lambda ctx: op(a(ctx), b(ctx))

        def chain(ctx):
            left = operands[0](ctx)
            for op, right_fn in zip(ops, operands[1:]):
                right = right_fn(ctx)
                if not op(left, right):
                    return False
                left = right
            return True
        return chain

    def _IfExp(self, node):
        test, body, orelse = self.visit(node.test), self.visit(node.body), self.visit(node.orelse)
        return lambda ctx: body(ctx) if test(ctx) else orelse(ctx)

    def _ListLit(self, node):
        items = tuple(self.visit(i) for i in node.items)
        return lambda ctx: [i(ctx) for i in items]

    def _Call(self, node):
        fn = self.functions[node.name]
        args = tuple(self.visit(a) for a in node.args)
        impl, name, offset = fn.python, node.name, node.offset
        result_type = self.checked.of(node)
        post = _to_decimal if result_type.kind in T.DECIMALS else None

        def call(ctx):
            values = [a(ctx) for a in args]
            try:
                out = impl(ctx, *values) if fn.uses_context else impl(*values)
            except ExpressionError:
                raise
            except (TypeError, ValueError, ArithmeticError, AttributeError) as exc:
                raise ExpressionError(f"{name}(): {exc}", offset) from None
            return out if post is None else post(out)
        return call
