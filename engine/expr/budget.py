"""The parse-time budget of one expression tree, decided before anything runs: how many
nodes, how deeply calls nest, how large it grows once each `x ** k` is written out as k
factors (as the SQL compiler does), how large a number and how long a text or list it
can produce.

Each node gets an upper bound on the digits of the number it can give (a field counts
as `FIELD_DIGITS`, `*` adds digits, `** k` multiplies them by k) and, for texts and
lists built from literals, on their length; the first node past a bound is refused
with its offset. Budget errors carry code LOOM-E101 so `loom check` names the limit.
"""
from __future__ import annotations

from decimal import Decimal

from ..errors import ExpressionError
from . import nodes as n
from .limits import FIELD_DIGITS, MAX_CALL_DEPTH, MAX_DIGITS, MAX_EXPANDED, MAX_NODES, MAX_SIZE

BUDGET_CODE = "LOOM-E101"


def over_budget(message: str, offset: int) -> ExpressionError:
    return ExpressionError(message, offset, BUDGET_CODE)


def check_budget(tree) -> None:
    """Raise ExpressionError (LOOM-E101) if `tree` is over any budget."""
    _Budget().visit(tree)


class _Budget:
    def __init__(self):
        self.count = 0
        self.calls = 0  # calls open around the node being visited
        self.expanded = 0  # nodes once `x ** k` is written out as k factors, as SQL does

    def visit(self, node) -> tuple[int, int | None]:
        """(most digits of the number it gives, most items of the text/list, or None)."""
        self.count += 1
        self.expanded += 1
        if self.count > MAX_NODES:
            raise over_budget(f"expression has more than {MAX_NODES} parts "
                              "(names, numbers, operators and calls)", node.offset)
        return getattr(self, "_" + type(node).__name__)(node)

    def _Const(self, node):
        v = node.value
        if isinstance(v, str):
            return 1, len(v)
        if isinstance(v, Decimal):
            return (max(v.adjusted() + 1, 1) if v else 1), None
        if isinstance(v, int):
            return len(str(abs(v))), None
        return 1, None

    def _Path(self, node):
        return FIELD_DIGITS, None

    def _Unary(self, node):
        digits, _ = self.visit(node.operand)
        return digits, None

    def _Binary(self, node):
        before = self.expanded
        da, sa = self.visit(node.left)
        base = self.expanded - before
        db, sb = self.visit(node.right)
        op = node.op
        if op == "**":
            digits = da * node.right.value if isinstance(node.right, n.Const) else da * db
        elif op in ("*", "/"):
            digits = da + db
        elif op == "%":
            digits = db
        elif op == "//":
            digits = da
        else:
            digits = max(da, db) + 1
        if digits > MAX_DIGITS:
            raise over_budget(f"this calculation could give a number of more than {MAX_DIGITS} "
                              f"digits (each field counts as {FIELD_DIGITS})", node.offset)
        if op == "**" and isinstance(node.right, n.Const) and node.right.value > 1:
            self.expanded += base * (node.right.value - 1)
            if self.expanded > MAX_EXPANDED:
                raise over_budget(f"expression is too large once each 'x ** k' is written out as "
                                  f"k factors (more than {MAX_EXPANDED} parts)", node.offset)
        size = None
        if op == "*":
            size = (_repeated(sa, node.right) if sa is not None
                    else _repeated(sb, node.left) if sb is not None else None)
            if size is not None and size > MAX_SIZE:
                raise over_budget(f"repeating text or a list would make it longer than {MAX_SIZE}",
                                  node.offset)
        elif op == "+" and sa is not None and sb is not None:
            size = sa + sb
            if size > MAX_SIZE:
                raise over_budget(f"joining texts or lists would make them longer than {MAX_SIZE}",
                                  node.offset)
        return digits, size

    def _BoolOp(self, node):
        for v in node.values:
            self.visit(v)
        return 1, None

    def _Compare(self, node):
        for o in node.operands:
            self.visit(o)
        return 1, None

    def _IfExp(self, node):
        self.visit(node.test)
        (da, sa), (db, sb) = self.visit(node.body), self.visit(node.orelse)
        return max(da, db), (max(sa, sb) if sa is not None and sb is not None else None)

    def _ListLit(self, node):
        digits = 1
        for item in node.items:
            digits = max(digits, self.visit(item)[0])
        return digits, len(node.items)

    def _Call(self, node):
        self.calls += 1
        if self.calls > MAX_CALL_DEPTH:
            # each call is a level of parentheses in SQL, which SQLite parses only so deep
            raise over_budget(f"functions are nested more than {MAX_CALL_DEPTH} deep", node.offset)
        digits = FIELD_DIGITS
        for a in node.args:
            digits = max(digits, self.visit(a)[0])
        self.calls -= 1
        return digits, None


def _repeated(size: int, count) -> int | None:
    """Length of a text/list of `size` repeated by `count` when that is a literal."""
    if isinstance(count, n.Const) and isinstance(count.value, int) and not isinstance(
            count.value, bool):
        return size * max(count.value, 0)
    return None
