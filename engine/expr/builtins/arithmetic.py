"""Numbers: round, abs."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from .. import sqlterms as S
from .. import types as T
from ..sqlterms import SqlTerm
from .rules import arity, expect


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


def py_round(x, digits=0):
    if x is None or digits is None:
        return None
    q = Decimal(x).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return int(q) if isinstance(x, int) else q


def py_abs(x):
    return None if x is None else abs(x)


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


def rule_ratio(args):
    arity(args, 2)
    expect(args[0], T.NUMERIC, "a number")
    expect(args[1], T.NUMERIC, "a number", 1)
    return T.t(T.PERCENT)


def py_ratio(part, whole):
    """part / whole as a fraction (a percent field shows 0.5 as 50%); None, not an error,
    when whole is 0 or missing: a roll-up over no lines yet has no share."""
    if part is None or whole is None or whole == 0:
        return None
    return Decimal(part) / Decimal(whole)
