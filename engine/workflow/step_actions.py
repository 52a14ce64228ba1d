"""On-enter actions: `set`, `create`, `update`, `notify` — registered exactly as plugins register theirs.

An action is a callable `action(ctx: StepContext, args)`; `args` is the typed
object the definition builder made (SetArgs, CreateArgs, ...) or, for a
plugin's action, the frozen YAML arguments. Everything runs on `ctx.conn`,
the transaction of the transition: raise to undo the whole action.
"""
from __future__ import annotations

import re
from typing import Any

from ..auth.users import SYSTEM
from ..definitions.model import CreateArgs, NotifyArgs, SetArgs, UpdateArgs
from ..errors import LoomError, NotFound, ValidationFailed
from ..store import tables as t
from . import approvers

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


def set_values(ctx: StepContext, args: SetArgs) -> None:
    raw = {name: ctx.value(slot) for name, slot in args.values}
    runtime = ctx.engine.runtimes[ctx.form]
    ctx.values = runtime.prepare(_json(runtime, raw), user=ctx.user, existing=ctx.values,
                                 services=ctx.services(SYSTEM), system=True)
    ctx.effects.append({"set": sorted(raw)})


def create_record(ctx: StepContext, args: CreateArgs) -> None:
    rows = ctx.values.get(args.each) or [] if args.each else [None]
    for row in rows:
        extra = {"line": row} if row is not None else None
        raw = {name: ctx.value(slot, extra, table=args.each) for name, slot in args.values}
        runtime = ctx.engine.runtimes[args.form]
        values = runtime.prepare(_json(runtime, raw), user=ctx.user, existing=None,
                                 services=ctx.services(SYSTEM), system=True)
        rec = ctx.engine._wf_insert(ctx.conn, ctx.user, args.form, values, ctx.now)
        ctx.effects.append({"created": {"form": args.form, "id": rec.id, "number": rec.number}})


def update_records(ctx: StepContext, args: UpdateArgs) -> None:
    rows = ctx.values.get(args.each) or [] if args.each else [None]
    engine = ctx.engine
    for row in rows:
        extra = {"line": row} if row is not None else {}
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
            label = target.number or f"#{target.id}"
            raise ValidationFailed(exc.fields, f"step {ctx.step}: updating {args.form} {label} "
                                   "breaks its rules") from None
        engine._wf_write_other(ctx.conn, ctx.user, target, target_row, values, ctx.now,
                               f"workflow {ctx.form} {ctx.record.number or ctx.record.id} "
                               f"entered {ctx.step}")
        ctx.effects.append({"updated": {"form": args.form, "id": target.id}})


def notify(ctx: StepContext, args: NotifyArgs) -> None:
    res = approvers.resolve(ctx.engine.users, ctx.conn, args.to, ctx.values, ctx.record.owner)
    subject, body = ctx.render(args.subject), ctx.render(args.body)
    for name in res.names:
        ctx.conn.execute(t.notifications.insert().values(
            user_name=name, created_at=ctx.now, subject=subject, body=body, form=ctx.form,
            record_id=ctx.record.id, source=f"workflow:{ctx.step}"))
    outbox = getattr(ctx.engine, "enqueue_notification", None)
    for channel in args.channels:
        if channel != "inbox" and outbox is not None:
            outbox(ctx.conn, channel=channel, users=res.names, subject=subject, body=body,
                   form=ctx.form, record_id=ctx.record.id)
    ctx.effects.append({"notified": res.names, "channels": list(args.channels)})


def _json(runtime, raw: dict) -> dict:
    """Python values (Decimal, date) into the input shape `prepare` parses."""
    try:
        return runtime.dump(raw)
    except Exception:  # a value the field's dumper does not take: let prepare parse it as is
        return raw
