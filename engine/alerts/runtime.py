"""One alert, compiled once per definition version, and what happens when it fires.

`AlertRuntime` holds the alert's `if` as a Python closure (event triggers,
evaluated on the record just written) and as an `Expr` the scheduler
compiles to SQL per tick (`today()` binds the tick's date). `fire()` runs the
alert's actions on one record inside the caller's transaction: inbox rows and
raised records are written there, email and webhook deliveries are queued in
the outbox there, so all of it commits or rolls back with the change.
"""
from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ..auth.users import SYSTEM
from ..definitions.environment import form_env
from ..errors import LoomError
from ..expr import parse
from ..expr import types as T
from ..records.context import StepContext
from . import outbox, recipients, templates
from .channels import Message

MAX_DEPTH = 3  # an alert raising a record whose alert raises a record ... stops here
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("loom_alert_depth", default=0)


@dataclass
class AlertRuntime:
    spec: Any  # AlertSpec
    env: Any
    test: Callable | None  # ctx -> bool
    seen: dict = field(default_factory=dict)  # "a.b" -> closure, for traces' "values seen"
    create_values: tuple = ()  # ((field, literal | closure, is_expr), ...)
    create_env: Any = None
    create_if: Callable | None = None  # `create.if` (per line with `each`)
    create_lines: tuple | None = None  # (table, source closure, if closure | None, values)

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def kind(self) -> str:
        return self.spec.on.kind

    def matches(self, change) -> bool:
        """Whether a write of kind create | update | enter could fire this alert."""
        kind = self.spec.on.kind
        if kind == "create":
            return change.kind == "create"
        if kind == "change":
            return change.kind in ("create", "update", "enter")
        if kind == "enter":
            return change.kind == "enter" and change.step == self.spec.on.step
        return False


def compile_alert(spec, defs, registries, form_types) -> AlertRuntime:
    """The alert's expressions compiled against the definitions they were loaded with."""
    fns = registries.functions
    env = form_env(defs, registries.field_types, spec.form, forms=form_types)
    test = spec.if_.compile_python(env, fns) if spec.if_ is not None else None
    seen = {}
    if spec.if_ is not None:
        for path in sorted(spec.if_.paths()):
            if path[0] == "user":
                continue
            name = ".".join(path)
            try:
                seen[name] = parse(name).compile_python(env, fns)
            except LoomError:
                continue  # a table path (`lines.qty` under sum) is not a value on its own
    rt = AlertRuntime(spec, env, test, seen)
    if spec.create is not None:
        def row_of(table):
            row = env.names.get(table) if table else None
            return row.item if row is not None and row.item else T.t(T.ANY)

        def line_env(extra):
            return form_env(defs, registries.field_types, spec.form, extra=extra,
                            forms=form_types)

        def compiled(values, e):
            return tuple((name, value.expr.compile_python(e, fns), True) if value.is_expr
                         else (name, value.literal, False) for name, value in values)

        create = spec.create
        cenv = line_env({"line": row_of(create.each)}) if create.each else env
        rt.create_values, rt.create_env = compiled(create.values, cenv), cenv
        rt.create_if = create.if_.compile_python(cenv, fns) if create.if_ is not None else None
        lines = create.lines
        if lines is not None:
            # the source: a table of the alert's record, or one reached through links
            # (`line.item.kit.parts`); `outer` is the `each` line
            source = lines.source.compile_python(cenv, fns)
            extra = {"line": row_of(lines.from_) if not lines.through_links
                     else lines.source.check(cenv, fns).item or T.t(T.ANY)}
            if create.each:
                extra["outer"] = row_of(create.each)
            lenv = line_env(extra)
            rt.create_lines = (lines.table, source,
                               lines.if_.compile_python(lenv, fns)
                               if lines.if_ is not None else None,
                               compiled(lines.values, lenv))
    return rt


def values_seen(reader, rt: AlertRuntime, values: Mapping, conn, user=None) -> dict:
    """The names the condition reads and their values now; shown to `user` (when given),
    linked records are read under their rules (a record hidden from them is no record)."""
    return seen_in(rt, reader.context(values, user or SYSTEM, conn, as_reader=user is not None))


def seen_in(rt: AlertRuntime, ctx) -> dict:
    """`values_seen` in an evaluation context already built (`condition_context`)."""
    out = {}
    for name, fn in rt.seen.items():
        try:
            out[name] = fn(ctx)
        except Exception as exc:  # noqa: BLE001 - a trace must not fail the write
            out[name] = f"<{exc}>"
    return out


def condition(reader, rt: AlertRuntime, values: Mapping, user, conn) -> bool:
    return holds_in(rt, condition_context(reader, values, user, conn))


def condition_context(reader, values: Mapping, user, conn):
    """The system's view of a record as its alerts' conditions see it: one context serves
    every condition of the record and the values they saw (`seen_in`), links loaded once."""
    return reader.context(values, user or SYSTEM, conn)


def holds_in(rt: AlertRuntime, ctx) -> bool:
    """The alert's condition in `ctx` (`condition_context`); no condition always holds."""
    return True if rt.test is None else bool(rt.test(ctx))


def fire(alerts, conn, rt: AlertRuntime, record, user=None) -> tuple[str, dict]:
    """Run the alert's actions on `record`; returns (outcome, detail) for the trace.

    `alerts` is the AlertService: its reader evaluates, `create_in` raises records,
    `send_notification` notifies, `tools` are what plugin actions get."""
    depth = _depth.get()
    if depth >= MAX_DEPTH:
        raise LoomError(f"alert {rt.id!r} not run: alerts nested {MAX_DEPTH} deep "
                        "(an alert's create triggers alerts that create ...)")
    token = _depth.set(depth + 1)
    try:
        return _fire(alerts, conn, rt, record, user)
    finally:
        _depth.reset(token)


def _fire(alerts, conn, rt, record, user) -> tuple[str, dict]:
    spec = rt.spec
    evaluate = alerts.reader.eval
    values = record.values()
    detail: dict = {}
    did_something = False
    if spec.create is not None:
        created = []
        lines = values.get(spec.create.each) or [] if spec.create.each else [None]
        for line in lines:
            extra = {"line": line} if line is not None else None
            if rt.create_if is not None and not evaluate(rt.create_if, values, SYSTEM, conn,
                                                             extra):
                continue
            data = {}
            for name, v, is_expr in rt.create_values:
                data[name] = evaluate(v, values, SYSTEM, conn, extra) if is_expr else v
            if rt.create_lines is not None:
                table, source, keep, row_values = rt.create_lines
                outer = {"outer": line} if line is not None else {}
                rows = evaluate(source, values, SYSTEM, conn, extra) or []
                data[table] = [
                    {name: evaluate(v, values, SYSTEM, conn, {"line": row, **outer})
                     if is_expr else v for name, v, is_expr in row_values}
                    for row in rows
                    if keep is None or evaluate(keep, values, SYSTEM, conn,
                                                    {"line": row, **outer})]
            rec = alerts.create_in(conn, SYSTEM, spec.create.form, data)
            created.append({"form": rec.form, "id": rec.id, "number": rec.number})
        detail["created"] = created
        did_something = True
    for action in spec.actions:
        run_plugin_action(alerts.tools, conn, rt, record, action)
        detail.setdefault("actions", []).append(action.kind)
        did_something = True
    if spec.notify is not None:
        n = spec.notify
        sent = alerts.send_notification(
            conn, to=n.to, channels=n.channels, subject=n.subject, body=n.body, record=record,
            source=spec.id, webhook=n.webhook)
        detail.update(sent)
        if not sent["recipients"] and not (n.webhook and "webhook" in n.channels):
            if not did_something:
                return "no_recipients", {**detail, "to": _spec_text(n.to)}
            detail["no_recipients"] = _spec_text(n.to)
    return "fired", detail


def run_plugin_action(tools, conn, rt, record, action) -> None:
    """A registered action (`action(ctx, args)`, as workflow on-enter actions are called)."""
    impl = tools.rt.registries.actions[action.kind]
    ctx = StepContext(tools, conn, SYSTEM, record, record.state, dict(record.data),
                      tools.clock.now())
    ctx.alert = rt.spec
    if ctx.holds(action.if_):
        impl(ctx, action.args)


def send_notification(alerts, conn, *, to, channels, subject: str, body: str, record,
                      source: str, webhook: str | None = None) -> dict:
    """Render and hand a notification to its channels inside `conn`'s transaction.

    Each recipient gets it in their own language: recipients are grouped by
    `user.language` and subject and body render once per group, with choice
    values shown as their option labels and the alert's title (in an empty
    subject) in that language. The template text itself is one text for all.
    Channels that send one message for everyone (`per_recipient = False`: the
    webhook) get it rendered in the app's default language.
    """
    values = record.values()
    defs = alerts.rt.defs
    default = defs.app.default_language
    links, choices = _shape(alerts, record.form)
    alert = defs.alerts.get(source)
    load = alerts.reader.loader(conn)
    people = recipients.resolve(to, values, alerts.users, conn)
    now = alerts.clock.now()
    rendered: dict[str, tuple[str, str, str]] = {}

    def render(language: str, hidden: frozenset = frozenset()) -> tuple[str, str, str]:
        key = (language, hidden)
        if key not in rendered:
            # a field the recipients may not see renders as if it were empty
            shown = {k: v for k, v in values.items() if k not in hidden}
            ctx = templates.context(shown, links, load, choices=choices, language=language,
                                    default_language=default)
            title = alert.title.get(language, default) if alert is not None and alert.title else source
            subject_text = templates.render_subject(
                subject or f"{title}: {record.number or record.id}", ctx)
            rendered[key] = (subject_text, templates.render_text(body, ctx),
                             templates.html_page(subject_text, templates.render_html(body, ctx)))
        return rendered[key]

    access = alerts.reader.access
    groups: dict[tuple, list] = {}
    for p in people:
        hidden = access.hidden(p, record.form, record.owner)
        groups.setdefault((p.language or default, hidden), []).append(p)

    def message(language: str, group, hidden: frozenset = frozenset()) -> Message:
        subject_text, text, html = render(language, hidden)
        shown = record.to_json()
        if hidden:
            shown["data"] = {k: v for k, v in shown["data"].items() if k not in hidden}
        return Message(source=source, form=record.form, record_id=record.id,
                       recipients=tuple(group), subject=subject_text, text=text, html=html, at=now,
                       record=shown, webhook=webhook, language=language)

    messages = [message(lang, group, hidden) for (lang, hidden), group in groups.items()]
    everyone: list = []  # for channels that send one message for all: made when one asks

    def for_everyone() -> list:
        if not everyone:
            everyone.append(message(default, people))
        return everyone

    out: dict = {"recipients": [p.name for p in people],
                 "subject": messages[0].subject if messages else for_everyone()[0].subject,
                 "channels": {}}
    if len({m.language for m in messages}) > 1:
        out["subjects"] = {m.language: m.subject for m in messages}
    for name in channels:
        channel = alerts.rt.registries.channels[name]
        for msg in (messages if getattr(channel, "per_recipient", True) and messages
                    else for_everyone()):
            _merge(out["channels"].setdefault(name, {}), hand_over(conn, name, channel, msg, now))
    return out


def _shape(alerts, form_id: str) -> tuple[dict, dict]:
    """(link fields: (form, its title field), choice fields: option labels) of a form, worked
    out once per form on `alerts` (one service per runtime snapshot: a reload starts afresh)."""
    shapes = alerts.shapes
    hit = shapes.get(form_id)
    if hit is None:
        defs = alerts.rt.defs
        form = defs.forms[form_id]
        types = alerts.rt.registries.field_types
        targets = {f.name: types[f.type].link_form(f) for f in form.fields}
        links = {name: (to, defs.forms[to].title_field if to in defs.forms else None)
                 for name, to in targets.items() if to is not None}
        choices = {f.name: dict(f.option_labels) for f in form.fields if f.option_labels}
        hit = shapes[form_id] = (links, choices)
    return hit


def hand_over(conn, name: str, channel, msg: Message, now) -> dict:
    """One rendered message to one channel in `conn`'s transaction: written (inbox), or
    queued in the outbox; recipients the channel cannot reach (an email channel and a
    user with no address) get an `undeliverable` outbox row admins see with dead letters."""
    if not channel.outbox:
        return {"written": channel.write(conn, msg)}
    out: dict = {"queued": [outbox.enqueue(conn, name, p, now) for p in channel.payloads(msg)]}
    missing = channel.unreachable(msg) if hasattr(channel, "unreachable") else []
    if missing:
        for who, reason in missing:
            outbox.undeliverable(conn, name, {"user": who.name, "subject": msg.subject,
                                              "source": msg.source, "form": msg.form,
                                              "record_id": msg.record_id}, now, reason)
        out["no_email" if name == "email" else "no_address"] = [who.name for who, _ in missing]
    return out


def _merge(into: dict, part: dict) -> None:
    for key, value in part.items():
        into[key] = into[key] + value if key in into else value


def _spec_text(spec) -> str:
    for key in ("role", "field", "manager_of"):
        if getattr(spec, key, None):
            return f"{key}: {getattr(spec, key)}"
    if getattr(spec, "users", None):
        return "users: " + ", ".join(spec.users)
    return "nobody"
