"""A form's `validate` rules as invariants: which of them a write could have broken, checked.

`prepare` checks every rule of what a user sends, with an error per field for
the form page. The writer asks this module again on every write, whoever
makes it (an on-enter action of another record, an alert, an import), so a
rule holds whatever path a value took. Only rules a write could break are
evaluated: a field's rules when the field or a name the rule reads changed,
a line's rules when the line is new or one of its cells (or a parent field
the rule reads) changed — lines matched by their `_id`. A write that changes
no value a rule reads evaluates nothing and loads nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from ..errors import ExpressionError
from ..store.line_ids import LINE_ID
from ._context import Contexts
from .compiled import Call, Field, Level
from .computation import roots
from .derive import eval_flag


@dataclass(frozen=True)
class Broken:
    """One rule that does not hold: where (`lines[2].qty`), which line (index), what it says."""

    path: str
    table: str | None
    index: int | None
    message: object  # the rule's Label


class _Rules:
    """The fields with rules at one level, and what each rule reads."""

    def __init__(self, level: Level, parent_names: frozenset = frozenset()):
        self.checked = []
        for f in level.fields:
            if not f.rules:
                continue
            names = roots(r.rule for r in f.spec.validate) | {f.name}
            own = frozenset(names & level.names)
            if "parent" in names:
                outer = parent_names
            else:
                outer = frozenset(names & parent_names) - own
            self.checked.append((f, own, outer))


class Invariants:
    """The rules of one compiled form, ready to be checked against a write."""

    def __init__(self, level: Level, contexts: Contexts):
        self.level, self.contexts = level, contexts
        self.top = _Rules(level)
        self.tables = []
        for f in level.fields:
            if f.level is not None:
                rules = _Rules(f.level, level.names)
                if rules.checked:
                    self.tables.append((f, rules))
        self.empty = not self.top.checked and not self.tables

    def broken(self, values: Mapping, before: Mapping | None, call: Call) -> list[Broken]:
        """The rules `values` break among those the change from `before` (None: a new
        record, every rule) could have broken."""
        if self.empty:
            return []
        changed = None if before is None else {
            f.name for f in self.level.fields
            if values.get(f.name) != before.get(f.name)}
        if changed is not None and not changed:
            return []  # a write that changes no value (a transition, a comment) breaks nothing
        out: list[Broken] = []
        ctx = None
        for f, own, outer in self.top.checked:
            if changed is not None and not (own & changed):
                continue
            ctx = ctx or self.contexts.record(values, call)
            if f.visible_fn is not None and not eval_flag(f.visible_fn, ctx):
                continue
            message = _first_broken(f, values.get(f.name), ctx)
            if message is not None:
                out.append(Broken(f.name, None, None, message))
        for t, rules in self.tables:
            rows = values.get(t.name) or ()
            if not rows:
                continue
            ctx = ctx or self.contexts.record(values, call)
            if t.visible_fn is not None and not eval_flag(t.visible_fn, ctx):
                continue
            old = {} if before is None else {r.get(LINE_ID): r for r in before.get(t.name) or ()
                                             if r.get(LINE_ID) is not None}
            for i, row in enumerate(rows):
                prev = old.get(row.get(LINE_ID)) if before is not None else None
                cells = None if prev is None else {k for k in t.level.names
                                                   if row.get(k) != prev.get(k)}
                rctx = None
                for c, own, outer in rules.checked:
                    if cells is not None and not (own & cells) and not (outer & changed):
                        continue
                    rctx = rctx or self.contexts.row(row, t.level.names, values, call)
                    if c.visible_fn is not None and not eval_flag(c.visible_fn, rctx):
                        continue
                    message = _first_broken(c, row.get(c.name), rctx)
                    if message is not None:
                        out.append(Broken(f"{t.name}[{i}].{c.name}", t.name, i, message))
        return out


def _first_broken(f: Field, value, ctx):
    """The message of the field's first rule that fails, or None (as `validate` judges)."""
    if f.ftype.empty(value):
        return None  # an empty value is `required`'s business, not a rule's
    for fn, message in f.rules:
        try:
            ok = fn(ctx)
        except (ExpressionError, ArithmeticError):
            ok = False
        if ok is not None and not ok:  # like SQL CHECK: unknown does not fail
            return message
    return None
