"""Type-rule helpers every built-in family shares (a plugin may use them too)."""
from __future__ import annotations

from ...errors import ExpressionError
from .. import types as T
from ..checker import unify
from ..types import Type

INT, TEXT, BOOL = T.t(T.INTEGER), T.t(T.TEXT), T.t(T.BOOLEAN)
DATE, DATETIME, DECIMAL = T.t(T.DATE), T.t(T.DATETIME), T.t(T.DECIMAL)
LOOSE = (T.NULL, T.ANY)


def arity(args, lo, hi=None):
    hi = lo if hi is None else hi
    if not lo <= len(args) <= hi:
        want = str(lo) if lo == hi else f"{lo} to {hi}"
        raise ExpressionError(f"takes {want} argument{'s' if hi != 1 else ''}, "
                              f"got {len(args)}")


def expect(t: Type, kinds, what: str, i: int = 0):
    if t.kind not in kinds and t.kind not in LOOSE:
        raise ExpressionError(f"argument {i + 1} must be {what}, not {t}")


def items_of(args) -> Type:
    """The element type of an aggregate's single list argument."""
    arity(args, 1)
    t = args[0]
    if t.kind in LOOSE:
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


def unify_all(args, message: str):
    """The one type all `args` fit (NULL fits any); `message` names the first clash."""
    result = T.t(T.NULL)
    for t in args:
        u = unify(result, t)
        if u is None:
            raise ExpressionError(message.format(result, t))
        result = u
    return result


def one_argument(kinds, what: str, result: Type):
    """The type rule of a function of one argument of `kinds` that gives `result`."""

    def rule(args):
        arity(args, 1)
        expect(args[0], kinds, what)
        return result

    return rule


def constant(result: Type):
    def rule(args):
        arity(args, 0)
        return result
    return rule
