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
from decimal import Decimal

import sqlalchemy as sa

from ..auth.users import SYSTEM
from ..definitions.model import CreateArgs, NotifyArgs, SetArgs, UpdateArgs
from ..errors import Conflict, ExpressionError, LoomError, NotFound, ValidationFailed
from ..forms.compiled import language
from ..labels import phrase
from ..expr import SqlTerm, parse
from ..expr import types as T
from ..expr.sql import null, sa_type, scaled, where_form
from ..records.context import StepContext
from ..store.hot import Hot
from ..store.line_ids import LINE_ID
from ..store.sqlscope import RecordScope

__all__ = ["StepContext", "holds", "register_builtin_actions"]


def register_builtin_actions(registry) -> None:
    registry.register("set", set_values)
    registry.register("create", create_record)
    registry.register("update", update_records)
    registry.register("notify", notify)


def holds(ctx: StepContext, cond, extra=None, table=None) -> bool:
    """An action's `if`: absent means always."""
    return ctx.holds(cond, extra, table)


def set_values(ctx: StepContext, args: SetArgs) -> None:
    if not holds(ctx, args.if_):
        ctx.effects.append({"skipped": "set"})
        return
    raw = {name: ctx.value(slot) for name, slot in args.values}
    runtime = ctx.tools.rt.forms[ctx.form]
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
        runtime = ctx.tools.rt.forms[args.form]
        values = runtime.prepare(_json(runtime, raw), user=ctx.user, existing=None,
                                 services=ctx.services(SYSTEM), system=True)
        rec = ctx.tools.create(ctx.conn, ctx.user, args.form, values, ctx.now)
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
    env = ctx.tools.rt.envs.lines(ctx.form, args)
    fns = ctx.tools.rt.registries.functions
    evaluate = ctx.tools.reader.eval
    keep = lines.if_.compile_python(env, fns) if lines.if_ is not None else None
    values = [(name, slot.expr.compile_python(env, fns) if slot.is_expr else None, slot)
              for name, slot in lines.values]
    out = []
    for row in source:
        scope = ctx.scope({"line": row, **({"outer": outer} if args.each else {})})
        if keep is not None and not evaluate(keep, scope, ctx.user, ctx.conn):
            continue
        out.append({name: evaluate(fn, scope, ctx.user, ctx.conn) if fn is not None
                    else slot.literal for name, fn, slot in values})
    return out


def update_records(ctx: StepContext, args: UpdateArgs) -> None:
    """`update`: one record (by `id` or `where`) or, with `table`, one line of one (by `line`
    or `where`), per acting line with `each`; `create_missing` makes a missing target."""
    rows = ctx.values.get(args.each) or [] if args.each else [None]
    if args.table is None and args.line is not None:  # a link to a line names its table
        args = replace(args, table=ctx.tools.rt.envs.line_table(ctx.form, args))
    for i, row in enumerate(rows):
        extra = {"line": row} if row is not None else {}
        if not holds(ctx, args.if_, extra, table=args.each):
            continue
        at = (i, row) if row is not None else None
        if args.table is not None:
            update_line(ctx, args, extra, at)
            continue
        target = find_record(ctx, args, extra, at)
        if target is None:
            target = create_missing(ctx, args, extra, at)
        extra = {**extra, "target": target.id}
        raw = {name: ctx.value(slot, extra, table=args.each, target=args.form)
               for name, slot in args.values}
        write_target(ctx, args, target, raw, dict(target.data))


def find_record(ctx: StepContext, args: UpdateArgs, extra: dict, at):
    """The record `id` or `where` names (locked), or None when there is none and the
    definition says to create it; a business message otherwise."""
    tools = ctx.tools
    if args.where is not None:
        ids = find_target(ctx, args, extra, at[0] if at else None)
        if len(ids) > 1:
            raise ValidationFailed({}, target_message(ctx, args, at, several=True))
        target_id = ids[0] if ids else None
    else:
        target_id = ctx.eval(args.id, extra, table=args.each)
    row = None
    if target_id is not None:
        try:
            row = tools.rt.repo.fetch(ctx.conn, args.form, int(target_id), lock=True)
        except (NotFound, TypeError, ValueError):
            row = None
    if row is not None:
        return tools.reader.record(row)
    if args.create_missing is None:
        raise ValidationFailed({}, target_message(ctx, args, at))
    return None


def create_missing(ctx: StepContext, args: UpdateArgs, extra: dict, at):
    """The target `update` did not find, made from `create_missing` (then `set` applies)."""
    tools = ctx.tools
    raw = {name: ctx.value(slot, extra, table=args.each) for name, slot in args.create_missing}
    runtime = tools.rt.forms[args.form]
    try:
        values = runtime.prepare(_json(runtime, raw), user=ctx.user, existing=None,
                                 services=ctx.services(SYSTEM), system=True)
    except ValidationFailed as exc:
        raise tools.writer.rules_broken(ctx.conn, ctx.user, args.form, None, raw,
                                        list(exc.fields.items())) from None
    try:
        rec = tools.create(ctx.conn, ctx.user, args.form, values, ctx.now)
    except sa.exc.IntegrityError:
        # a concurrent writer made the same target first (its unique field says so)
        raise Conflict(f"{args.form} was created by someone else at the same moment; "
                       "try again") from None
    ctx.effects.append({"created": {"form": args.form, "id": rec.id, "number": rec.number}})
    return tools.reader.record(tools.rt.repo.fetch(ctx.conn, args.form, rec.id, lock=True))


def update_line(ctx: StepContext, args: UpdateArgs, extra: dict, at) -> None:
    """`update` with `table`: the line `line` names (its record found by the line id, or
    by `id`), or the one line of the `id` record `where` holds for; `target` is the line
    (`target.record` its record)."""
    tools = ctx.tools
    lid = ctx.eval(args.line, extra, table=args.each) if args.line is not None else None
    if args.id is not None:
        record_id = ctx.eval(args.id, extra, table=args.each)
    else:  # line ids are unique across records: the line finds its record
        table = tools.rt.typed[args.form].lines[args.table][0]
        record_id = None if lid is None else ctx.conn.execute(
            sa.select(table.c._record_id).where(table.c.line_id == str(lid))).scalar()
    try:
        target = tools.reader.record(tools.rt.repo.fetch(ctx.conn, args.form, int(record_id),
                                                         lock=True))
    except (NotFound, TypeError, ValueError):
        raise ValidationFailed({}, target_message(ctx, args, at)) from None
    lines = [dict(r) for r in target.data.get(args.table) or ()]
    if args.where is not None:
        fn = tools.rt.envs.compile(args.where, ctx.form, table=args.each, target=args.form,
                                   target_table=args.table)
        found = [j for j, r in enumerate(lines)
                 if tools.reader.eval(fn, ctx.scope({**extra, "target": {"record": target.id, **r}}),
                                      ctx.user, ctx.conn)]
    else:
        found = [j for j, r in enumerate(lines) if lid is not None and r.get(LINE_ID) == str(lid)]
    if len(found) > 1:
        raise ValidationFailed({}, target_message(ctx, args, at, several=True))
    if not found:
        if args.create_missing is None:
            raise ValidationFailed({}, target_message(ctx, args, at))
        lines.append({name: ctx.value(slot, extra, table=args.each)
                      for name, slot in args.create_missing})
        # the new line's defaults and computed cells, before `set` reads them
        runtime = tools.rt.forms[args.form]
        try:
            made = runtime.prepare(_json(runtime, {args.table: lines}), user=ctx.user,
                                   existing=target.data, services=ctx.services(SYSTEM),
                                   system=True)
        except ValidationFailed as exc:
            raise tools.writer.rules_broken(ctx.conn, ctx.user, args.form, target,
                                            {**target.data, args.table: lines},
                                            list(exc.fields.items())) from None
        lines = [dict(r) for r in made[args.table]]
        found = [len(lines) - 1]
    j = found[0]
    scope = {**extra, "target": {"record": target.id, **lines[j]}}
    for name, slot in args.values:
        lines[j][name] = ctx.value(slot, scope, table=args.each, target=args.form,
                                   target_table=args.table)
    write_target(ctx, args, target, {args.table: lines}, {**target.data, args.table: lines})


def write_target(ctx: StepContext, args: UpdateArgs, target, raw: dict, shown: dict) -> None:
    """`raw` over the target's values, checked by its form (a broken rule names the
    document and line), written as its next version with who caused it."""
    tools = ctx.tools
    runtime = tools.rt.forms[args.form]
    try:
        values = runtime.prepare(_json(runtime, raw), user=ctx.user, existing=target.data,
                                 services=ctx.services(SYSTEM), system=True)
    except ValidationFailed as exc:
        raise tools.writer.rules_broken(ctx.conn, ctx.user, args.form, target, shown,
                                        list(exc.fields.items())) from None
    why = f"workflow {ctx.form} {ctx.record.number or ctx.record.id} entered {ctx.step}"
    tools.writer.update(ctx.conn, ctx.user, target, values, ctx.now,
                        detail={"by": why, "by_record": {"form": ctx.form, "id": ctx.record.id,
                                                         "number": ctx.record.number}})
    ctx.effects.append({"updated": {"form": args.form, "id": target.id,
                                    **({"table": args.table} if args.table else {})}})


def target_message(ctx: StepContext, args: UpdateArgs, at, several: bool = False) -> str:
    """What an end user reads when `update` finds no target (or several): the definition's
    `message`, else a sentence naming the target form and the acting record (and line)."""
    lang = language(ctx.user)
    if args.message is not None:
        return args.message.get(lang)
    rt = ctx.tools.rt
    title = rt.defs.form(args.form).title.get(lang) or args.form.replace("_", " ")
    own = rt.defs.form(ctx.form)
    what = f"{own.title.get(lang) or ctx.form} {ctx.record.number or '#' + str(ctx.record.id)}"
    if at is not None:
        index, row = at
        shown = ctx.tools.writer.line_text(ctx.conn, own.field(args.each), row)
        what += ", " + phrase("line_at", lang, n=index + 1) + (f" ({shown})" if shown else "")
    return phrase("several_targets" if several else "no_target", lang, form=title, what=what)


def find_target(ctx: StepContext, args: UpdateArgs, extra: dict, index: int | None) -> list[int]:
    """The ids of the `args.form` records `args.where` holds for (at most 3, in id order).

    The acting record's names in `where` are bound parameters, so the statement depends only
    on which of them are empty (NULL compiles differently) and on the scale of each decimal:
    it is compiled once per such shape and reused (envs.where_sql), unless `where` reads the
    user's roles or the clock."""
    rt = ctx.tools.rt
    env = rt.envs.env(ctx.form, args.each, args.form)
    key = (id(args), ctx.tools.dialect)
    known = rt.envs.where_sql.get(key)
    if known is not None and known[0] is args:
        params, shapes = {}, []
        for name, (expr, typ) in known[1].items():
            shape = _bound(params, name, _acting_value(ctx, extra, args, expr, typ), typ)
            shapes.append(_key(shape))
        stmt = known[2].get(tuple(shapes))
        if stmt is not None:
            return [row[0] for row in stmt.all(ctx.conn, params)]
    inner = RecordScope(rt.typed, rt.registries.field_types, args.form,
                        dialect=ctx.tools.dialect, user=ctx.user, clock=ctx.tools.clock)
    scope = WhereScope(ctx, inner, extra, args, env)
    try:
        cond = args.where.compile_sql(scope, rt.registries.functions).expr
    except ExpressionError as exc:
        raise LoomError(f"step {ctx.step}: update of {args.form}: where {args.where.source!r} "
                        f"cannot run in SQL: {exc.message}") from None
    stmt = Hot(sa.select(inner.base.c._id).select_from(inner.from_clause())
               .where(where_form(cond)).order_by(inner.base.c._id).limit(3))
    if not scope.volatile:
        if known is None or known[0] is not args:
            known = (args, scope.paths, {})
            rt.envs.where_sql[key] = known
        if known[1].keys() == scope.paths.keys():
            known[2][tuple(scope.shapes)] = stmt
    return [row[0] for row in stmt.all(ctx.conn, scope.params)]


def _acting_value(ctx: StepContext, extra: dict, args: UpdateArgs, expr, typ):
    value = ctx.eval(expr, extra, table=args.each)
    return int(value) if value is not None and typ.kind == T.LINK else value


def _bound(params: dict, name: str, value, typ):
    """Put `value` in `params` as `name`, as `expr.sql.bind` binds it (a decimal as a scaled
    integer); returns what of it shapes the SQL: None (NULL, not bound), else (the SQL type,
    the scale: a decimal's own, 0 for the rest)."""
    if value is None:
        return None
    if typ.kind in T.DECIMALS and isinstance(value, Decimal):
        params[name], scale = scaled(value)
        return sa.BigInteger(), scale
    params[name] = value
    return sa_type(typ), 0


def _key(shape) -> tuple | None:
    """A bound value's shape as a cache key: NULL, or its SQL type and scale."""
    return None if shape is None else (type(shape[0]), shape[1])


class WhereScope:
    """SQL names of an update's `where`: `target.x` are the candidate's columns; every
    other name (the acting record's fields, `line`, `user`) is evaluated in Python and
    bound as a parameter (`w0`, `w1`... in the order `paths` lists them), so no value
    reaches the SQL text."""

    def __init__(self, ctx: StepContext, target: RecordScope, extra: dict, args, env):
        self.ctx, self.target, self.extra, self.args = ctx, target, extra, args
        self.dialect = target.dialect
        self.env = env
        self.paths: dict[str, tuple] = {}  # "w0": (expr, type)
        self.shapes: list = []  # per path: `_key` of how it was bound
        self.params: dict = {}
        self.volatile = False  # reads roles or the clock: compiled per call

    def column(self, path: tuple[str, ...]) -> SqlTerm:
        if path[0] == "target":
            return self.target.column(path[1:] or ("id",))
        expr = parse(".".join(path))
        typ = expr.check(self.env, self.ctx.tools.rt.registries.functions)
        name = f"w{len(self.paths)}"
        self.paths[name] = (expr, typ)
        shape = _bound(self.params, name,
                       _acting_value(self.ctx, self.extra, self.args, expr, typ), typ)
        self.shapes.append(_key(shape))
        if shape is None:
            return null(typ)
        sql_type, scale = shape
        # type_coerce: not a BindParameter, so no compiler step folds this call's value in
        return SqlTerm(sa.type_coerce(sa.bindparam(name, self.params[name], type_=sql_type),
                                      sql_type), typ, scale)

    def aggregate(self, table_path, build, agg):
        if table_path[0] == "target":
            return self.target.aggregate(table_path[1:], build, agg)
        raise ExpressionError(f"{agg}() over the acting record's line items is not available "
                              "in where; compare target's fields with values of the record or "
                              "line")

    def has_role(self, role: str) -> bool:
        self.volatile = True
        return self.target.has_role(role)

    def today(self):
        self.volatile = True
        return self.target.today()

    def now(self):
        self.volatile = True
        return self.target.now()


def notify(ctx: StepContext, args: NotifyArgs) -> None:
    """Tell people, through the same channels and per-language rendering as alerts."""
    if not holds(ctx, args.if_):
        ctx.effects.append({"skipped": "notify"})
        return
    runtime = ctx.tools.rt.forms[ctx.form]
    # the record as it will stand after this step, so templates see the new values
    record = replace(ctx.record, data=ctx.values, state=ctx.step,
                     json_data=runtime.dump(ctx.values))
    out = ctx.tools.notify(ctx.conn, to=args.to, channels=args.channels,
                           subject=args.subject, body=args.body, record=record,
                           source=f"workflow:{ctx.step}")
    ctx.effects.append({"notified": out["recipients"], "channels": list(args.channels)})


def _json(runtime, raw: dict) -> dict:
    """Python values (Decimal, date) into the input shape `prepare` parses."""
    try:
        return runtime.dump(raw)
    except Exception:  # a value the field's dumper does not take: let prepare parse it as is
        return raw
