"""Step 3 of `prepare`: every visible field validated, errors collected, not raised.

Required and `required_if`, type bounds, row counts, links and users through
the caller's services, then the field's `validate` rules.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from ..errors import ExpressionError
from ._context import Contexts
from .compiled import REQUIRED, Call, Field, Level
from .derive import eval_flag


def validate(level: Level, contexts: Contexts, values: dict, hidden: set, call: Call,
             existing: Mapping | None, errors: dict) -> None:
    ctx = contexts.record(values, call)
    for f in level.checked:  # a field with nothing that can fail is not visited
        name = f.name
        if name in hidden:
            continue
        value = values[name]
        if f.level is not None:
            validate_table(contexts, f, value, values, hidden, call, existing, errors)
            if name in errors:
                continue
        elif name in errors:
            continue
        if existing is None:
            changed = _always
        else:
            changed = lambda v, old=existing.get(name): v != old  # noqa: E731
        validate_value(f, value, ctx, name, call, errors, changed)


def validate_table(contexts: Contexts, f: Field, rows: list, parent: dict, hidden: set,
                   call: Call, existing: Mapping | None, errors: dict) -> None:
    spec = f.spec
    n = len(rows)
    if f.name not in errors:
        if spec.min_rows and n < spec.min_rows:
            errors[f.name] = f"needs at least {_rows(spec.min_rows)}"
        elif spec.max_rows is not None and n > spec.max_rows:
            errors[f.name] = f"can have at most {_rows(spec.max_rows)}"
    if not rows:
        return  # no cell to check
    # On update only new or changed links and users are checked: a record whose
    # record the editor can no longer read must still be editable.
    changed_by_cell: dict[str, Callable[[Any], bool]] = {}
    old_rows = (existing.get(f.name) or []) if existing is not None else []
    for c in f.level.fields:
        if existing is None or c.kind not in ("link", "user"):
            changed_by_cell[c.name] = _always
        else:
            seen = {r.get(c.name) for r in old_rows}
            changed_by_cell[c.name] = lambda v, seen=seen: v not in seen
    for i, row in enumerate(rows):
        ctx = contexts.row(row, f.level.names, parent, call)
        prefix = f"{f.name}[{i}]."
        for c in f.level.checked:
            path = prefix + c.name
            if path in hidden or path in errors:
                continue
            changed = changed_by_cell[c.name]
            validate_value(c, row.get(c.name), ctx, path, call, errors, changed)


def validate_value(f: Field, value, ctx, path: str, call: Call, errors: dict,
                   changed: Callable[[Any], bool]) -> None:
    spec = f.spec
    if f.ftype.empty(value):
        if spec.required or (f.required_if_fn is not None
                             and eval_flag(f.required_if_fn, ctx)):
            errors[path] = REQUIRED
        return
    if f.bounds_fn is not None:  # built once (runtime.bounds_check); None: cannot fail
        message = f.bounds_fn(value)
        if message:
            errors[path] = message
            return
    if f.kind == "link" and changed(value):
        if call.load(spec.to, value) is None:
            errors[path] = f"no {f.link_label} record with id {value}"
            return
    elif f.kind == "line_link" and changed(value):
        message = line_problem(f, value, ctx, call)
        if message:
            errors[path] = message
            return
    elif f.kind == "user" and changed(value):
        services = call.services
        if services is None or not services.user_exists(value):
            errors[path] = f"no user named {value}"
            return
    for fn, message in f.rules:
        try:
            ok = fn(ctx)
        except (ExpressionError, ArithmeticError):
            ok = False
        # Like SQL CHECK: an unknown (null) result does not fail the rule.
        if ok is not None and not ok:
            errors[path] = message.get(call.language)
            return


def line_problem(f: Field, value, ctx, call: Call) -> str | None:
    """Why `value` is not a line this field may hold: no such line (or one of a record the
    user may not read), or not a line of the record the `within` field links to."""
    spec = f.spec
    line = call.load(spec.to, value)
    if line is None:
        return f"no line {value} in {f.link_label}"
    if spec.within:
        owner = ctx.value(spec.within)
        if owner is None:
            return f"choose {spec.within.replace('_', ' ')} first"
        if line.get("record") != owner:
            return f"line {value} does not belong to the chosen {spec.within.replace('_', ' ')}"
    return None


def ordered(level: Level, errors: dict) -> dict:
    """Errors in field order (rows by index), unknown keys first."""
    index = {f.name: i for i, f in enumerate(level.fields)}
    child = {f.name: {c.name: j for j, c in enumerate(f.level.fields)}
             for f in level.fields if f.level is not None}

    def key(path: str):
        head, _, rest = path.partition("[")
        if head not in index:
            return (-1, 0, 0, path)
        if not rest:
            return (index[head], -1, -1, path)
        num, _, cell = rest.partition("].")
        return (index[head], int(num) if num.isdigit() else 0,
                child.get(head, {}).get(cell, len(child.get(head, ()))), path)

    return {k: errors[k] for k in sorted(errors, key=key)}


def _always(_value) -> bool:
    return True


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"
