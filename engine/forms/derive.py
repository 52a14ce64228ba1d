"""Step 2 of `prepare`: visibility, defaults and computed fields, in dependency order.

Rows are derived before the parent fields that aggregate them (the level's
`order`). An expression that fails leaves the field empty with a message.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from ..errors import ExpressionError
from ..fields import FieldError
from ..fields.number import limit
from ._context import Contexts
from .compiled import Call, Field, Level


def derive(level: Level, contexts: Contexts, values: dict, call: Call, create: bool, bad: set,
           fresh_rows: set, errors: dict) -> set:
    """Visibility, defaults and computes in dependency order; returns hidden paths."""
    hidden: set[str] = set()
    ctx = contexts.record(values, call)
    for f in level.derived:
        name = f.name
        if f.visible_fn is not None and not eval_flag(f.visible_fn, ctx):
            hidden.add(name)
            values[name] = [] if f.level is not None else None
            continue
        if f.level is not None:
            rows = values[name]
            fill = create or name in fresh_rows
            for i, row in enumerate(rows):
                derive_row(contexts, f, i, row, values, call, fill, bad, errors, hidden)
        elif f.compute_fn is not None:
            values[name] = evaluate(f, f.compute_fn, ctx, name, errors)
        elif create and f.has_default and name not in bad and f.ftype.empty(values[name]):
            values[name] = default(f, ctx, name, errors)
    return hidden


def derive_row(contexts: Contexts, table: Field, i: int, row: dict, parent: dict, call: Call,
               fill: bool, bad: set, errors: dict, hidden: set) -> None:
    ctx = contexts.row(row, table.level.names, parent, call)
    prefix = f"{table.name}[{i}]."
    for c in table.level.derived:
        name = c.name
        if c.visible_fn is not None and not eval_flag(c.visible_fn, ctx):
            hidden.add(prefix + name)
            row[name] = None
            continue
        if c.compute_fn is not None:
            row[name] = evaluate(c, c.compute_fn, ctx, prefix + name, errors)
        elif fill and c.has_default and c.ftype.empty(row.get(name)) \
                and prefix + name not in bad:
            row[name] = default(c, ctx, prefix + name, errors)


def default(f: Field, ctx, path: str, errors: dict):
    if f.default_ready:
        return f.default_value
    if f.default_fn is None:
        literal = f.default_literal
        if literal is None:
            return None
        try:
            return f.ftype.parse(f.spec, literal)
        except FieldError as exc:
            errors[path] = f"default: {exc}"
            return None
    return evaluate(f, f.default_fn, ctx, path, errors)


def evaluate(f: Field, fn, ctx, path: str, errors: dict):
    """An expression's result, converted to the field's type (decimals quantized)."""
    try:
        value = fn(ctx)
    except (ExpressionError, ArithmeticError) as exc:
        errors[path] = f"cannot be computed: {getattr(exc, 'message', None) or exc}"
        return None
    try:
        return coerce(f.ftype, f.spec, value)
    except FieldError as exc:
        errors[path] = str(exc)
        return None


def eval_flag(fn, ctx) -> bool:
    """A condition's truth; one that cannot be evaluated counts as false."""
    try:
        return bool(fn(ctx))
    except (ExpressionError, ArithmeticError):
        return False


def coerce(ftype, spec, value):
    """An expression's result as a value of the field's type (not user input: no parsing of
    expressions, only of the value's shape). Decimals are quantized to the field's scale."""
    if value is None:
        return None
    quantize = getattr(ftype, "quantize", None)
    if quantize is not None and isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        value = quantize(spec, Decimal(value))
        if abs(value) >= limit(ftype.scale(spec)):
            raise FieldError("is too large")
        return value
    if ftype.name == "integer" and isinstance(value, Decimal):
        return int(value.to_integral_value(rounding=ROUND_HALF_UP))
    if ftype.name == "date" and isinstance(value, datetime):
        return value.date()
    if ftype.name == "datetime" and type(value) is date:
        return datetime(value.year, value.month, value.day)
    return ftype.parse(spec, value)
