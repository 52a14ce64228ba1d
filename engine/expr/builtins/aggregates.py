"""Aggregates: sum, count, min, max, avg over a list or line items (min/max also of values).

Over line items in SQL they compile through `SqlScope.aggregate`; Python skips
None as SQL does.
"""
from __future__ import annotations

from decimal import Decimal

from ...errors import ExpressionError
from .. import sqlterms as S
from .. import types as T
from .rules import DECIMAL, INT, items_of, numeric_items, unify_all


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
    return unify_all(args, "cannot compare {} with {}")


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


def sql_min_max(agg):
    def build(args, scope):
        return S.least_greatest(agg, [a for a in args if not S.is_null(a)], args[0].type,
                                scope.dialect)
    return build
