"""Parsing: Python's own `ast` in eval mode, then a whitelist walk into `nodes`.

Anything not explicitly allowed is refused with the offset of the offending
construct, so `loom check` can point inside the YAML string.
"""
from __future__ import annotations

import ast
from decimal import Decimal, InvalidOperation

from ..errors import ExpressionError
from . import nodes as n
from .budget import check_budget, over_budget
from .expr import Expr
from .limits import MAX_DEPTH, MAX_INT, MAX_LENGTH, MAX_POWER

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
           ast.Mod: "%", ast.Pow: "**"}
_CMPOPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">",
           ast.GtE: ">=", ast.In: "in", ast.NotIn: "not in"}
_BITWISE = {ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<",
            ast.RShift: ">>", ast.MatMult: "@"}
_UNARY = {ast.USub: "-", ast.UAdd: "+", ast.Not: "not"}
_REFUSED = {
    ast.Subscript: "subscripts like x[0] are not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "generator expressions are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.FormattedValue: "f-strings are not allowed",
    ast.NamedExpr: "':=' is not allowed",
    ast.Starred: "'*' unpacking is not allowed",
    ast.Dict: "dictionaries are not allowed",
    ast.Set: "sets are not allowed",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
    ast.Slice: "slices are not allowed",
}


def parse(text: str) -> Expr:
    """Parse and validate `text`; raises ExpressionError with an offset."""
    if not isinstance(text, str):
        raise ExpressionError("an expression must be text")
    if len(text) > MAX_LENGTH:
        raise over_budget(f"expression is longer than {MAX_LENGTH} characters", MAX_LENGTH)
    if not text.strip():
        raise ExpressionError("expression is empty")
    # leading blanks would be an IndentationError; offsets still count them
    body = text.lstrip()
    src = _Source(text, len(text) - len(body))
    try:
        tree = ast.parse(body, mode="eval")
    except SyntaxError as exc:
        offset = src.char_offset_of_syntax_error(exc)
        raise ExpressionError(f"syntax error: {exc.msg}", offset) from None
    except (RecursionError, MemoryError, ValueError):
        raise over_budget("expression is too complex", 0) from None
    node = _Converter(src).convert(tree.body, 1)
    check_budget(node)
    return Expr(text, node)


class _Source:
    """Maps `ast` positions (1-based line, UTF-8 byte column) to character offsets."""

    def __init__(self, text: str, base: int = 0):
        self.text = text
        self.lines = text[base:].split("\n")
        self.starts = []
        pos = base
        for line in self.lines:
            self.starts.append(pos)
            pos += len(line) + 1

    def char(self, lineno: int, col_bytes: int) -> int:
        line = self.lines[lineno - 1] if 0 < lineno <= len(self.lines) else ""
        col = len(line.encode("utf-8")[:col_bytes].decode("utf-8", errors="ignore"))
        return self.starts[lineno - 1] + col if 0 < lineno <= len(self.starts) else col

    def start(self, node) -> int:
        return self.char(node.lineno, node.col_offset)

    def end(self, node) -> int:
        return self.char(node.end_lineno, node.end_col_offset)

    def char_offset_of_syntax_error(self, exc: SyntaxError) -> int:
        if not exc.lineno or not exc.offset or exc.lineno > len(self.starts):
            return 0
        # SyntaxError.offset is 1-based in characters
        return min(self.starts[exc.lineno - 1] + exc.offset - 1, len(self.text))

    def find(self, token: str, start: int, end: int) -> int:
        """Where an operator sits between two operands (only spaces and parens around it)."""
        i = self.text.find(token, start, end)
        return i if i >= 0 else start


class _Converter:
    def __init__(self, src: _Source):
        self.src = src

    def fail(self, message: str, node) -> ExpressionError:
        return ExpressionError(message, self.src.start(node))

    def convert(self, node, depth: int):
        if depth > MAX_DEPTH:
            raise over_budget(f"expression is nested more than {MAX_DEPTH} levels deep",
                              self.src.start(node))
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            message = _REFUSED.get(type(node), f"{type(node).__name__} is not allowed here")
            raise self.fail(message, node)
        return method(node, depth + 1)

    def _Constant(self, node, depth):
        v = node.value
        at = self.src.start(node)
        if v is None or isinstance(v, (bool, str)):
            return n.Const(v, at)
        if isinstance(v, int):
            if abs(v) >= MAX_INT:
                raise self.fail("number is too large", node)
            return n.Const(v, at)
        if isinstance(v, float):
            # from the source text, so 0.1 is exactly Decimal('0.1'), never the float
            text = self.src.text[at:self.src.end(node)].replace("_", "")
            try:
                d = Decimal(text)
            except InvalidOperation:
                d = Decimal(repr(v))
            if not d.is_finite() or abs(d) >= MAX_INT:
                raise self.fail("number is too large", node)
            return n.Const(d, at)
        raise self.fail("only text, numbers, True, False and None literals are allowed", node)

    def _Name(self, node, depth):
        self._check_name(node.id, node)
        at = self.src.start(node)
        return n.Path((node.id,), (at,))

    def _check_name(self, name: str, node, at: int | None = None):
        if "__" in name:
            raise ExpressionError("names with '__' are not allowed",
                                  self.src.start(node) if at is None else at)

    def _Attribute(self, node, depth):
        parts, offsets = [], []
        cur = node
        while isinstance(cur, ast.Attribute):
            at = self.src.end(cur) - len(cur.attr)
            self._check_name(cur.attr, cur, at)
            parts.append(cur.attr)
            offsets.append(at)
            cur = cur.value
        if not isinstance(cur, ast.Name):
            raise ExpressionError(
                "attributes are only allowed on field names, like project.region",
                offsets[-1] if offsets else self.src.start(node))
        self._check_name(cur.id, cur)
        if len(parts) + 1 > MAX_DEPTH:
            raise self.fail(f"expression is nested more than {MAX_DEPTH} levels deep", node)
        parts.append(cur.id)
        offsets.append(self.src.start(cur))
        return n.Path(tuple(reversed(parts)), tuple(reversed(offsets)))

    def _UnaryOp(self, node, depth):
        op = _UNARY.get(type(node.op))
        if op is None:
            raise self.fail("'~' is not allowed", node)
        operand = self.convert(node.operand, depth)
        if op == "-" and isinstance(operand, n.Const) and type(operand.value) in (int, Decimal):
            # a negative literal is one literal (SQL binds it, round(x, -2) can read it)
            return n.Const(-operand.value, self.src.start(node))
        return n.Unary(op, operand, self.src.start(node))

    def _BinOp(self, node, depth):
        op = _BINOPS.get(type(node.op))
        symbol = op or _BITWISE.get(type(node.op), "")
        at = self.src.find(symbol, self.src.end(node.left), self.src.start(node.right))
        if op is None:
            raise ExpressionError("bitwise operators are not allowed", at)
        left = self.convert(node.left, depth)
        right = self.convert(node.right, depth)
        if op == "**":
            ok = (isinstance(right, n.Const) and isinstance(right.value, int)
                  and not isinstance(right.value, bool) and 0 <= right.value <= MAX_POWER)
            if not ok:
                raise ExpressionError(
                    f"'**' needs a whole-number exponent from 0 to {MAX_POWER}", right.offset)
        return n.Binary(op, left, right, at)

    def _BoolOp(self, node, depth):
        op = "and" if isinstance(node.op, ast.And) else "or"
        return n.BoolOp(op, tuple(self.convert(v, depth) for v in node.values),
                        self.src.start(node))

    def _Compare(self, node, depth):
        operands = [node.left, *node.comparators]
        ops, offsets = [], []
        for i, op_node in enumerate(node.ops):
            lo, hi = self.src.end(operands[i]), self.src.start(operands[i + 1])
            if isinstance(op_node, (ast.Is, ast.IsNot)):
                raise ExpressionError("use '==' or '!=' instead of 'is'",
                                      self.src.find("is", lo, hi))
            op = _CMPOPS[type(op_node)]
            ops.append(op)
            offsets.append(self.src.find(op.split()[0], lo, hi))
        return n.Compare(tuple(self.convert(o, depth) for o in operands), tuple(ops),
                         tuple(offsets))

    def _IfExp(self, node, depth):
        return n.IfExp(self.convert(node.test, depth), self.convert(node.body, depth),
                       self.convert(node.orelse, depth), self.src.start(node))

    def _List(self, node, depth):
        return n.ListLit(tuple(self.convert(e, depth) for e in node.elts), self.src.start(node))

    _Tuple = _List

    def _Call(self, node, depth):
        if not isinstance(node.func, ast.Name):
            raise self.fail("only registered functions can be called, like round(total, 2)",
                            node.func)
        self._check_name(node.func.id, node.func)
        if node.keywords:
            kw = node.keywords[0]
            raise self.fail("keyword arguments are not allowed", kw)
        return n.Call(node.func.id, tuple(self.convert(a, depth) for a in node.args),
                      self.src.start(node))
