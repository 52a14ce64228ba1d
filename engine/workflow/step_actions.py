"""On-enter actions: `set`, `create`, `update`, `notify` — registered exactly as plugins register theirs.

An action is a callable `action(ctx: StepContext, args)`; `args` is the typed
object the definition builder made (SetArgs, CreateArgs, ...) or, for a
plugin's action, the frozen YAML arguments. Everything runs on `ctx.conn`,
the transaction of the transition: raise to undo the whole action.

Every built-in takes an `if` (with `each`: per line, `line` in scope).
`update` finds its target by `id` or by `where`: a condition over `target.x`
compiled to one SQL query over the target form's typed table, the acting
record's values and `line` bound as parameters; exactly one record must match.
`create.lines` fills a table of the new record from a table of the acting one or,
through a dotted path (`line.item.kit.parts`), of a record it links to.
"""
from __future__ import annotations

from dataclasses import replace

import re
from typing import Any

import sqlalchemy as sa

from ..auth.users import SYSTEM
from ..definitions.model import CreateArgs, NotifyArgs, SetArgs, UpdateArgs
from ..errors import ExpressionError, LoomError, NotFound, ValidationFailed
from ..expr import SqlTerm
from ..expr import types as T
from ..expr.sql import bind, null
from ..store.sqlscope import RecordScope

PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")


def register_builtin_actions(registry) -> None:
    registry.register("set", set_values)
    registry.register("create", create_record)
    registry.register("update", update_records)
    registry.register("notify", notify)


class StepContext:
    """What an on-enter action sees: the record entering `step`, inside its transaction."""

    def __init__(self, engine, conn, user, record, step: str, values: dict, now):
        self.engine, self.conn, self.user = engine, conn, user
        self.record = record  # the Record as it was before the action
        self.form = record.form
        self.step = step
        self.values = values  # field values; `set` replaces them
        self.now = now
        self.effects: list[dict] = []  # what happened, for the history event

    def scope(self, extra: dict | None = None) -> dict:
        """The record's fields and system fields as expressions see them (plus line/target)."""
        rec = self.record
        out = {**self.values, "id": rec.id, "number": rec.number, "state": self.step,
               "owner": rec.owner, "created_at": rec.created_at, "updated_at": rec.updated_at}
        if extra:
            out.update(extra)
        return out

    def eval(self, expr, extra_values: dict | None = None, table: str | None = None,
             target: str | None = None) -> Any:
        fn = self.engine._wf_compile(expr, self.form, table=table, target=target)
        return self.engine._eval(fn, self.scope(extra_values), self.user, self.conn)

    def value(self, slot, extra_values=None, table=None, target=None) -> Any:
        if slot.is_expr:
            return self.eval(slot.expr, extra_values, table, target)
        return slot.literal

    def render(self, text: str) -> str:
        """`{{ expr }}` placeholders filled from the record; a failing one renders empty."""
        def one(m):
            from ..expr import parse

            try:
                v = self.eval(parse(m.group(1).strip()))
            except LoomError:
                return ""
            return "" if v is None else str(v)
        return PLACEHOLDER.sub(one, text or "")

    def services(self, user=None):
        from ..engine import Services

        return Services(self.engine, self.conn, user or self.user)


def holds(ctx: StepContext, cond, extra=None, table=None) -> bool:
    """An action's `if`: absent means always."""
    return cond is None or bool(ctx.eval(cond, extra, table=table))


def set_values(ctx: StepContext, args: SetArgs) -> None:
    if not holds(ctx, args.if_):
        ctx.effects.append({"skipped": "set"})
        return
    raw = {name: ctx.value(slot) for name, slot in args.values}
    runtime = ctx.engine.runtimes[ctx.form]
    ctx.values = runtime.prepare(_json(runtime, raw), user=ctx.user, existing=ctx.values,
                                 services=ctx.services(SYSTEM), system=True)
    ctx.effects.append({"set": sorted(raw)})


def create_record(ctx: StepContext, args: CreateArgs) -> None:
    rows = ctx.values.get(args.each) or [] if args.each else [None]
    for row in rows:
        extra = {"line": row} if row is not None else None
        if not holds(ctx, args.if_, extra, table=args.each):
            continue
        raw = {name: ctx.value(slot, extra, table=args.each) for name, slot in args.values}
        if args.lines is not None:
            raw[args.lines.table] = copied_lines(ctx, args, row)
        runtime = ctx.engine.runtimes[args.form]
        values = runtime.prepare(_json(runtime, raw), user=ctx.user, existing=None,
                                 services=ctx.services(SYSTEM), system=True)
        rec = ctx.engine._insert_record(ctx.conn, ctx.user, args.form, values, ctx.now)
        ctx.effects.append({"created": {"form": args.form, "id": rec.id, "number": rec.number}})


def copied_lines(ctx: StepContext, args: CreateArgs, outer: dict | None) -> list[dict]:
    """`create.lines`: one row of the new record's table per (matching) source row.

    The source is a table of the acting record or, through links, of a record it
    links to (read as SYSTEM through the engine's link loader, like any link
    hop); in `values` and `if`, `line` is the source row and `outer` the `each`
    line."""
    lines = args.lines
    if not lines.through_links:
        source = ctx.values.get(lines.from_) or []
    else:
        source = ctx.eval(lines.source, {"line": outer} if args.each else None,
                          table=args.each) or []
    env = lines_env(ctx.engine, ctx.form, args)
    fns = ctx.engine.registries.functions
    keep = lines.if_.compile_python(env, fns) if lines.if_ is not None else None
    values = [(name, slot.expr.compile_python(env, fns) if slot.is_expr else None, slot)
              for name, slot in lines.values]
    out = []
    for row in source:
        scope = ctx.scope({"line": row, **({"outer": outer} if args.each else {})})
        if keep is not None and not ctx.engine._eval(keep, scope, ctx.user, ctx.conn):
            continue
        out.append({name: ctx.engine._eval(fn, scope, ctx.user, ctx.conn) if fn is not None
                    else slot.literal for name, fn, slot in values})
    return out


def lines_env(engine, form: str, args: CreateArgs):
    """The names of `create.lines` values: the acting record's fields, `line` (a source
    row) and, with `each`, `outer` (the acting record's line)."""
    from ..definitions.environment import form_env

    key = ("create.lines", form, args.each, args.lines.from_)
    env = engine._wf_envs.get(key)
    if env is None:
        types = engine._form_types[form]
        extra = {"line": T.t(T.ANY)}
        if args.each is not None:
            extra["outer"] = types[args.each].item
        if not args.lines.through_links:
            extra["line"] = types[args.lines.from_].item
        elif args.lines.source is not None:
            each_env = engine._wf_env(form, args.each)
            extra["line"] = args.lines.source.check(each_env, engine.registries.functions).item
        env = form_env(engine.defs, engine.registries.field_types, form, extra=extra,
                       forms=engine._form_types)
        engine._wf_envs[key] = env
    return env


def update_records(ctx: StepContext, args: UpdateArgs) -> None:
    rows = ctx.values.get(args.each) or [] if args.each else [None]
    engine = ctx.engine
    for i, row in enumerate(rows):
        extra = {"line": row} if row is not None else {}
        if not holds(ctx, args.if_, extra, table=args.each):
            continue
        if args.where is not None:
            target_id = find_target(ctx, args, extra, i if row is not None else None)
        else:
            target_id = ctx.eval(args.id, extra, table=args.each)
        try:
            target_row = engine.repo.fetch(ctx.conn, args.form, int(target_id), lock=True)
        except (NotFound, TypeError, ValueError):
            raise LoomError(f"step {ctx.step}: update of {args.form}: there is no {args.form} "
                            f"record {target_id!r}") from None
        target = engine._record(target_row)
        extra = {**extra, "target": target.id}
        raw = {name: ctx.value(slot, extra, table=args.each, target=args.form)
               for name, slot in args.values}
        runtime = engine.runtimes[args.form]
        try:
            values = runtime.prepare(_json(runtime, raw), user=ctx.user, existing=target.data,
                                     services=ctx.services(SYSTEM), system=True)
        except ValidationFailed as exc:
            title = engine.defs.forms[args.form].title_field
            label = target.number or (title and target.data.get(title)) or f"#{target.id}"
            raise ValidationFailed(exc.fields, f"step {ctx.step}: updating {args.form} {label} "
                                   "breaks its rules") from None
        engine._wf_write_other(ctx.conn, ctx.user, target, target_row, values, ctx.now,
                               f"workflow {ctx.form} {ctx.record.number or ctx.record.id} "
                               f"entered {ctx.step}")
        ctx.effects.append({"updated": {"form": args.form, "id": target.id}})


def find_target(ctx: StepContext, args: UpdateArgs, extra: dict, index: int | None) -> int:
    """The id of the one `args.form` record `args.where` holds for; LoomError otherwise."""
    engine = ctx.engine
    inner = RecordScope(engine.typed, engine.registries.field_types, args.form,
                        dialect=engine.db.dialect, user=ctx.user, clock=engine.clock)
    scope = WhereScope(ctx, inner, extra, args.each, engine._wf_env(ctx.form, args.each,
                                                                    args.form))
    try:
        cond = args.where.compile_sql(scope, engine.registries.functions).expr
    except ExpressionError as exc:
        raise LoomError(f"step {ctx.step}: update of {args.form}: where {args.where.source!r} "
                        f"cannot run in SQL: {exc.message}") from None
    ids = ctx.conn.execute(sa.select(inner.base.c._id).select_from(inner.from_clause())
                           .where(cond).order_by(inner.base.c._id).limit(3)).scalars().all()
    if len(ids) == 1:
        return ids[0]
    line = f" for {args.each} line {index + 1}" if index is not None else ""
    found = "no" if not ids else "more than one" if len(ids) > 2 else "two"
    raise LoomError(f"step {ctx.step}: update of {args.form}{line}: {found} {args.form} "
                    f"records meet where {args.where.source!r}; exactly one must")


class WhereScope:
    """SQL names of an update's `where`: `target.x` are the candidate's columns; every
    other name (the acting record's fields, `line`, `user`) is evaluated in Python and
    bound as a parameter, so no value reaches the SQL text."""

    def __init__(self, ctx: StepContext, target: RecordScope, extra: dict, table, env):
        self.ctx, self.target, self.extra, self.table = ctx, target, extra, table
        self.dialect = target.dialect
        self.env = env

    def column(self, path: tuple[str, ...]) -> SqlTerm:
        if path[0] == "target":
            return self.target.column(path[1:] or ("id",))
        from ..expr import parse

        expr = parse(".".join(path))
        typ = expr.check(self.env, self.ctx.engine.registries.functions)
        value = self.ctx.eval(expr, self.extra, table=self.table)
        if value is None:
            return null(typ)
        if typ.kind == T.LINK:
            value = int(value)
        return bind(value, typ)

    def aggregate(self, table_path, build, agg):
        if table_path[0] == "target":
            return self.target.aggregate(table_path[1:], build, agg)
        raise ExpressionError(f"{agg}() over the acting record's line items is not available "
                              "in where; compare target's fields with values of the record or "
                              "line")

    def has_role(self, role: str) -> bool:
        return self.target.has_role(role)

    def today(self):
        return self.target.today()

    def now(self):
        return self.target.now()


def notify(ctx: StepContext, args: NotifyArgs) -> None:
    """Tell people, through the same channels and per-language rendering as alerts."""
    if not holds(ctx, args.if_):
        ctx.effects.append({"skipped": "notify"})
        return
    runtime = ctx.engine.runtimes[ctx.form]
    # the record as it will stand after this step, so templates see the new values
    record = replace(ctx.record, data=ctx.values, state=ctx.step,
                     json_data=runtime.dump(ctx.values))
    out = ctx.engine._send_notification(ctx.conn, to=args.to, channels=args.channels,
                                        subject=args.subject, body=args.body, record=record,
                                        source=f"workflow:{ctx.step}")
    ctx.effects.append({"notified": out["recipients"], "channels": list(args.channels)})


def _json(runtime, raw: dict) -> dict:
    """Python values (Decimal, date) into the input shape `prepare` parses."""
    try:
        return runtime.dump(raw)
    except Exception:  # a value the field's dumper does not take: let prepare parse it as is
        return raw
