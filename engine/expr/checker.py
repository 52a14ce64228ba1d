"""Static type inference: every sub-expression gets a `Type` before anything runs."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Mapping

from ..errors import ExpressionError
from . import nodes as n
from . import types as T
from .types import Type

_NUMERIC_RANK = {T.INTEGER: 0, T.PERCENT: 1, T.DECIMAL: 2, T.MONEY: 3}
_LOOSE = (T.NULL, T.ANY)
ANY = T.t(T.ANY)
BOOL = T.t(T.BOOLEAN)


@dataclass(frozen=True, eq=False)
class Env:
    """What names mean: top-level names and, for following links, each form's fields."""

    names: Mapping[str, Type]
    forms: Mapping[str, Mapping[str, Type]] = field(default_factory=dict)


@dataclass
class Checked:
    """The result of checking: the overall type plus one type per node."""

    type: Type
    types: dict  # id(node) -> Type
    literals: dict  # id(Const) -> value it stands for (ISO text compared with a date -> date)
    tree: object = None

    def of(self, node) -> Type:
        return self.types[id(node)]


def check(expr, env: Env, functions) -> Checked:
    """Type every node of `expr` against `env`, calling `functions` (a Functions)."""
    c = _Checker(env, functions)
    result = c.visit(expr.tree)
    return Checked(result, c.types, c.literals, expr.tree)


def widest(a: Type, b: Type) -> Type:
    return a if _NUMERIC_RANK[a.kind] >= _NUMERIC_RANK[b.kind] else b


def unify(a: Type, b: Type) -> Type | None:
    """The type both branches of `x if c else y` (or list items) share, or None."""
    if a.kind == T.NULL or b.kind == T.ANY:
        return b
    if b.kind == T.NULL or a.kind == T.ANY:
        return a
    if a.is_numeric and b.is_numeric:
        return widest(a, b)
    if a.kind == b.kind == T.LIST:
        item = unify(a.item or ANY, b.item or ANY)
        return None if item is None else T.list_of(item)
    if a.kind == b.kind and (a.kind != T.LINK or a.form == b.form):
        return a if a.options == b.options else T.t(a.kind)
    if {a.kind, b.kind} <= {T.TEXT, T.USER}:
        return T.t(T.TEXT)
    return None


def arithmetic(op: str, a: Type, b: Type) -> Type | None:
    """Result type of `a op b`, or None when the operation makes no sense."""
    if a.kind == T.ANY or b.kind == T.ANY:
        return ANY
    if a.kind == T.NULL:
        return b if b.kind != T.NULL else a
    if b.kind == T.NULL:
        return a
    ka, kb = a.kind, b.kind
    if a.is_numeric and b.is_numeric:
        if op in ("+", "-", "%"):
            return widest(a, b)
        if op == "*":
            if ka == kb == T.INTEGER:
                return a
            if T.MONEY in (ka, kb):
                return T.t(T.DECIMAL) if ka == kb else T.t(T.MONEY)
            if {ka, kb} <= {T.PERCENT, T.INTEGER}:
                return T.t(T.PERCENT)
            return T.t(T.DECIMAL)
        if op == "/":
            if ka == T.MONEY and kb != T.MONEY:
                return a
            return T.t(T.DECIMAL)
        if op == "//":
            return T.t(T.INTEGER)
        if op == "**":
            return a if ka == T.INTEGER else T.t(T.DECIMAL)
    if op == "+":
        if ka == kb == T.TEXT:
            return T.t(T.TEXT)
        if ka == kb == T.LIST:
            return unify(a, b)
        if ka == T.DATE and kb == T.INTEGER:
            return a
        if ka == T.INTEGER and kb == T.DATE:
            return b
    if op == "-":
        if ka == T.DATE and kb == T.INTEGER:
            return a
        if ka == kb == T.DATE:
            return T.t(T.INTEGER)
    return None


def iso_literal(kind: str, text: str):
    try:
        return date.fromisoformat(text) if kind == T.DATE else datetime.fromisoformat(text)
    except ValueError:
        return None


class _Checker:
    def __init__(self, env: Env, functions):
        self.env = env
        self.functions = functions
        self.types: dict[int, Type] = {}
        self.literals: dict[int, object] = {}

    def visit(self, node) -> Type:
        result = getattr(self, "_" + type(node).__name__)(node)
        self.types[id(node)] = result
        return result

    def _Const(self, node):
        v = node.value
        if v is None:
            return T.t(T.NULL)
        if isinstance(v, bool):
            return BOOL
        if isinstance(v, int):
            return T.t(T.INTEGER)
        if isinstance(v, str):
            return T.t(T.TEXT)
        return T.t(T.DECIMAL)

    def _Path(self, node):
        name = node.parts[0]
        if name not in self.env.names:
            raise ExpressionError(f"unknown name {name!r}{_hint(name, self.env.names)}",
                                  node.offset)
        t = self.env.names[name]
        for i in range(1, len(node.parts)):
            t = self._attribute(t, node.parts[i], node.offsets[i], node.parts[:i])
        return t

    def _attribute(self, t: Type, attr: str, offset: int, prefix) -> Type:
        where = ".".join(prefix)
        if t.kind == T.ANY:
            return ANY
        if t.kind == T.LIST and t.item is not None and t.item.kind in (
                T.LINK, T.USER, T.ROW, T.ANY):
            return T.list_of(self._attribute(t.item, attr, offset, prefix))
        if t.kind == T.LINK:
            fields = self.env.forms.get(t.form)
            if fields is None:
                raise ExpressionError(f"{where} links to unknown form {t.form!r}", offset)
        elif t.kind == T.USER:
            fields = T.USER_ATTRIBUTES
        elif t.kind in (T.ROW, T.TABLE):
            fields = t.field_map()
        else:
            raise ExpressionError(f"{where} is {t} and has no field {attr!r}", offset)
        if attr not in fields:
            raise ExpressionError(f"{where} has no field {attr!r}{_hint(attr, fields)}", offset)
        found = fields[attr]
        return T.list_of(found) if t.kind == T.TABLE else found

    def _Unary(self, node):
        t = self.visit(node.operand)
        if node.op == "not":
            return BOOL
        if t.is_numeric or t.kind in _LOOSE:
            return t
        raise ExpressionError(f"cannot apply '{node.op}' to {t}", node.offset)

    def _Binary(self, node):
        a, b = self.visit(node.left), self.visit(node.right)
        result = arithmetic(node.op, a, b)
        if result is None:
            raise ExpressionError(f"cannot apply '{node.op}' to {a} and {b}", node.offset)
        return result

    def _BoolOp(self, node):
        for v in node.values:
            self.visit(v)
        return BOOL

    def _Compare(self, node):
        types = [self.visit(o) for o in node.operands]
        for i, op in enumerate(node.ops):
            left, right = node.operands[i], node.operands[i + 1]
            lt, rt = types[i], types[i + 1]
            if op in ("in", "not in"):
                self._membership(left, lt, right, rt, node.offsets[i])
            else:
                self._comparable(left, lt, right, rt, node.offsets[i], op)
        return BOOL

    def _comparable(self, left, lt: Type, right, rt: Type, offset: int, op: str):
        if lt.kind in _LOOSE or rt.kind in _LOOSE:
            return
        for a, at, b, bt in ((left, lt, right, rt), (right, rt, left, lt)):
            if at.kind in (T.DATE, T.DATETIME) and bt.kind == T.TEXT:
                if not (isinstance(b, n.Const) and isinstance(b.value, str)):
                    break
                value = iso_literal(at.kind, b.value)
                if value is None:
                    example = "'YYYY-MM-DD'" if at.kind == T.DATE else "'YYYY-MM-DD HH:MM'"
                    raise ExpressionError(f"{b.value!r} is not a {at.kind} (write {example})",
                                          b.offset)
                self.literals[id(b)] = value
                return
            if at.kind == T.TEXT and at.options and isinstance(b, n.Const) \
                    and isinstance(b.value, str) and b.value not in at.options:
                raise ExpressionError(f"{b.value!r} is not one of the options "
                                      f"{', '.join(map(str, at.options))}", b.offset)
        ordering = op not in ("==", "!=")
        ok = ((lt.is_numeric and rt.is_numeric)
              or {lt.kind, rt.kind} <= {T.TEXT, T.USER}
              or (lt.kind == rt.kind and lt.kind not in (T.LINK, T.LIST, T.TABLE, T.ROW))
              or (lt.kind == rt.kind == T.LINK and lt.form == rt.form)
              or (not ordering and {lt.kind, rt.kind} == {T.LINK, T.INTEGER})
              or (not ordering and lt.kind == rt.kind == T.LIST))
        if not ok:
            raise ExpressionError(f"cannot compare {lt} with {rt}", offset)

    def _membership(self, left, lt: Type, right, rt: Type, offset: int):
        if rt.kind in _LOOSE:
            return
        if rt.kind == T.TEXT:
            if lt.kind not in (T.TEXT, T.USER, *_LOOSE):
                raise ExpressionError(f"cannot look for {lt} in text", offset)
            return
        if rt.kind != T.LIST:
            raise ExpressionError(f"'in' needs a list or text on the right, not {rt}", offset)
        if isinstance(right, n.ListLit):
            for item in right.items:
                self._comparable(left, lt, item, self.types[id(item)], offset, "==")
        elif rt.item is not None:
            self._comparable(left, lt, right, rt.item, offset, "==")

    def _IfExp(self, node):
        self.visit(node.test)
        a, b = self.visit(node.body), self.visit(node.orelse)
        result = unify(a, b)
        if result is None:
            raise ExpressionError(f"both branches of 'if' must have the same type, not {a} "
                                  f"and {b}", node.offset)
        return result

    def _ListLit(self, node):
        item = T.t(T.NULL)
        for x in node.items:
            t = self.visit(x)
            u = unify(item, t)
            if u is None:
                raise ExpressionError(f"a list cannot mix {item} and {t}", x.offset)
            item = u
        return T.list_of(ANY if item.kind == T.NULL else item)

    def _Call(self, node):
        fn = self.functions.get(node.name)
        if fn is None:
            raise ExpressionError(f"unknown function {node.name!r}"
                                  f"{_hint(node.name, self.functions.names())}", node.offset)
        args = [self.visit(a) for a in node.args]
        try:
            return fn.type_rule(args)
        except ExpressionError as exc:
            raise ExpressionError(f"{node.name}(): {exc.message}", node.offset) from None


def _hint(name: str, candidates) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""
