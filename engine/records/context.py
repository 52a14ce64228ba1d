"""What an action (a workflow on-enter action, an alert's plugin action) sees and may use.

An action is a callable `action(ctx: StepContext, args)`. Built-ins and
plugins get the same context, whether a workflow step or an alert calls them;
everything runs on `ctx.conn`, the caller's transaction: raise to undo it all.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ..errors import LoomError
from ..expr import parse

PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")


@dataclass(frozen=True)
class ActionTools:
    """The narrow collaborators actions are handed (one set per runtime snapshot)."""

    rt: Any  # engine.runtime.Runtime: defs, forms, typed, repo, registries, envs
    reader: Any  # RecordReader: record(row), eval(fn, ...), services(conn, user)
    writer: Any  # RecordWriter: update(...)
    clock: Any
    dialect: str
    create: Callable  # (conn, user, form, values, now) -> Record, workflow start included
    notify: Callable  # (conn, *, to, channels, subject, body, record, source, webhook) -> dict
    # (conn, *, user, channels, subject, body, link, form, record_id, source): one already-rendered
    # message to one user on each of `channels` (the workflow's news, engine/workflow/news.py)
    tell: Callable | None = None


class StepContext:
    """One action's view: the record entering `step`, inside its transaction."""

    def __init__(self, tools: ActionTools, conn, user, record, step: str, values: dict, now):
        self.tools, self.conn, self.user = tools, conn, user
        self.record = record  # the Record as it was before the action
        self.form = record.form
        self.step = step
        self.values = values  # field values; `set` replaces them
        self.now = now
        self.effects: list[dict] = []  # what happened, for the history event
        self.alert = None  # the AlertSpec when an alert runs the action

    def scope(self, extra: Mapping | None = None) -> dict:
        """The record's fields and system fields as expressions see them (plus line/target)."""
        rec = self.record
        out = {**self.values, "id": rec.id, "number": rec.number, "state": self.step,
               "owner": rec.owner, "created_at": rec.created_at, "updated_at": rec.updated_at}
        if extra:
            out.update(extra)
        return out

    def eval(self, expr, extra_values: Mapping | None = None, table: str | None = None,
             target: str | None = None, target_table: str | None = None) -> Any:
        fn = self.tools.rt.envs.compile(expr, self.form, table=table, target=target,
                                        target_table=target_table)
        return self.tools.reader.eval(fn, self.scope(extra_values), self.user, self.conn)

    def value(self, slot, extra_values=None, table=None, target=None, target_table=None) -> Any:
        if slot.is_expr:
            return self.eval(slot.expr, extra_values, table, target, target_table)
        return slot.literal

    def holds(self, cond, extra=None, table=None) -> bool:
        """An action's `if`: absent means always."""
        return cond is None or bool(self.eval(cond, extra, table=table))

    def render(self, text: str) -> str:
        """`{{ expr }}` placeholders filled from the record; a failing one renders empty."""
        def one(m):
            try:
                v = self.eval(parse(m.group(1).strip()))
            except LoomError:
                return ""
            return "" if v is None else str(v)
        return PLACEHOLDER.sub(one, text or "")

    def services(self, user=None):
        """What form validation may ask of the store, as `user` (default: the acting user)."""
        return self.tools.reader.services(self.conn, user or self.user)
