"""Turn schema-checked YAML documents into frozen model objects.

Runs after the JSON Schema check passed, so shapes are known; what can still
go wrong here is an expression that does not parse, which is reported at the
exact character inside the YAML string.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import timedelta
from typing import Any, Callable

from ..errors import ExpressionError, Problem
from ..expr import Expr, parse
from ..labels import BUILTIN_LABELS
from . import model as m
from .yaml_source import SourceDoc

_DURATION = re.compile(r"^\s*(\d+)\s*(w|d|h|m|s)\s*$")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(text: str) -> timedelta:
    """`2d`, `4h`, `30m`, `1w` → timedelta; ValueError otherwise."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration such as 30m, 4h, 2d or 1w")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class Builder:
    """Builds one document; collects problems instead of stopping at the first."""

    def __init__(self, doc: SourceDoc):
        self.doc = doc
        self.problems: list[Problem] = []

    def source(self, path: tuple = ()) -> m.Source:
        mark = self.doc.mark(path)
        return m.Source(self.doc.file, mark.line, mark.col)

    def expr(self, path: tuple, text: Any) -> Expr | None:
        if text is None:
            return None
        if isinstance(text, bool) or isinstance(text, (int, float)):
            text = str(text).lower() if isinstance(text, bool) else str(text)
            text = "True" if text == "true" else "False" if text == "false" else text
        try:
            return parse(str(text))
        except ExpressionError as exc:
            self.problems.append(self.doc.problem(path, f"expression {text!r}: {exc.message}",
                                                  exc.code_, offset=exc.offset))
            return None

    def value(self, path: tuple, raw: Any) -> m.Value:
        if isinstance(raw, str):
            return m.Value(expr=self.expr(path, raw))
        return m.Value(literal=raw)

    def values(self, path: tuple, raw: dict | None) -> tuple:
        return tuple((k, self.value(path + (k,), v)) for k, v in (raw or {}).items())

    def duration(self, path: tuple, raw: Any) -> timedelta | None:
        if raw is None:
            return None
        try:
            return parse_duration(raw)
        except ValueError as exc:
            self.problems.append(self.doc.problem(path, str(exc), "LOOM-E014"))
            return None


def _names(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (raw,)
    return tuple(str(x) for x in raw)


# --- app -------------------------------------------------------------------


def build_app(b: Builder) -> m.AppSpec:
    d = b.doc.data
    roles = []
    for r in d.get("roles") or []:
        if isinstance(r, dict):
            roles.append(m.RoleSpec(r["name"], m.Label.of(r.get("label"), r["name"]),
                                    _names(r.get("include"))))
        else:
            roles.append(m.RoleSpec(str(r), m.Label.of(None, str(r))))
    languages = tuple(d.get("languages") or ("en",))
    return m.AppSpec(
        name=d["app"], title=m.Label.of(d.get("title"), d["app"]), roles=tuple(roles),
        languages=languages, default_language=d.get("default_language") or languages[0],
        plugins=_names(d.get("plugins")), source=b.source(), demo=_beside(b.doc.file, d.get("demo")),
        require_2fa=_names(d.get("require_2fa")),
    )


def _beside(doc_file: str, relative) -> str | None:
    """A path written in a definition file, relative to that file's folder, made absolute."""
    if not isinstance(relative, str) or not relative:
        return None
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(doc_file)), relative))


# --- forms -----------------------------------------------------------------


def _field(b: Builder, path: tuple, raw: dict) -> m.FieldSpec:
    options, option_labels = [], []
    for i, opt in enumerate(raw.get("options") or []):
        if isinstance(opt, dict):
            options.append(str(opt["value"]))
            option_labels.append((str(opt["value"]), m.Label.of(opt.get("label"), str(opt["value"]))))
        else:
            options.append(str(opt))
            option_labels.append((str(opt), m.Label.of(None, str(opt))))
    rules = tuple(
        m.Rule(b.expr(path + ("validate", i, "rule"), v["rule"]),
               m.Label.of(v.get("message"), f"{raw['name']} is not valid"))
        for i, v in enumerate(raw.get("validate") or [])
    )
    children = tuple(_field(b, path + ("fields", i), f) for i, f in enumerate(raw.get("fields") or []))
    name = raw["name"]
    default = raw.get("default")
    return m.FieldSpec(
        name=name, type=raw["type"],
        label=m.Label.of(raw.get("label"), name.replace("_", " ").capitalize()),
        required=bool(raw.get("required", False)),
        required_if=b.expr(path + ("required_if",), raw.get("required_if")),
        visible_if=b.expr(path + ("visible_if",), raw.get("visible_if")),
        default=b.value(path + ("default",), default) if "default" in raw else None,
        compute=b.expr(path + ("compute",), raw.get("compute")),
        readonly=bool(raw.get("readonly", False)) or "compute" in raw,
        validate=tuple(r for r in rules if r.rule is not None),
        options=tuple(options), option_labels=tuple(option_labels), to=raw.get("to"),
        min=raw.get("min"), max=raw.get("max"), min_rows=raw.get("min_rows"),
        max_rows=raw.get("max_rows"), max_length=raw.get("max_length"), scale=raw.get("scale"),
        unique=bool(raw.get("unique", False)), help=m.Label.of(raw.get("help")),
        fields=children, source=b.source(path),
        read=_names(raw.get("read")), edit=_names(raw.get("edit")),
    )


def build_form(b: Builder) -> m.FormSpec:
    d = b.doc.data
    perms = d.get("permissions") or {}
    return m.FormSpec(
        id=d["form"], title=m.Label.of(d.get("title"), d["form"].replace("_", " ").capitalize()),
        fields=tuple(_field(b, ("fields", i), f) for i, f in enumerate(d.get("fields") or [])),
        number=d.get("number"), title_field=d.get("title_field"),
        indexes=_names(d.get("indexes")),
        permissions=m.Permissions(
            create=_names(perms.get("create")), read=_names(perms.get("read")),
            update=_names(perms.get("update")), delete=_names(perms.get("delete")),
            rows=b.expr(("permissions", "rows"), perms.get("rows")),
            reassign=_names(perms.get("reassign")),
        ),
        owner_field=d.get("owner_field"),
        description=m.Label.of(d.get("description")), source=b.source(),
        archive=_archive(b, d.get("archive")),
    )


def _archive(b: Builder, raw: dict | None) -> m.ArchiveRule | None:
    if raw is None:
        return None
    after = b.duration(("archive", "after"), raw.get("after"))
    if after is None:
        return None  # reported by the schema check or by `duration`
    return m.ArchiveRule(after=after, if_=b.expr(("archive", "if"), raw.get("if")),
                         source=b.source(("archive",)))


# --- workflows -------------------------------------------------------------


def _people(raw: dict | None, cls):
    if not raw:
        return None
    return cls(role=raw.get("role"), users=_names(raw.get("users")), field=raw.get("field"),
               manager_of=raw.get("manager_of"))


def _action(b: Builder, path: tuple, name: str, raw: Any) -> m.ActionSpec:
    entries = raw if isinstance(raw, list) else [raw]
    branches, by, comment, label, confirm = [], (), "optional", m.Label(), m.Label()
    for i, e in enumerate(entries):
        p = path + (i,) if isinstance(raw, list) else path
        branches.append(m.Branch(to=e["to"], if_=b.expr(p + ("if",), e.get("if"))))
        by = by or _names(e.get("by"))
        comment = e.get("comment", comment) if comment == "optional" else comment
        label = label or m.Label.of(e.get("label"))
        confirm = confirm or m.Label.of(e.get("confirm"))
    return m.ActionSpec(name=name, branches=tuple(branches), by=by, comment=comment,
                        label=label or m.Label.of(BUILTIN_LABELS.get(name),
                                                  name.replace("_", " ").capitalize()),
                        confirm=confirm)


def _edit_who(raw: Any) -> tuple[str, ...]:
    """A step's `edit`: a list of roles, or a map of role → fields; either way, who edits."""
    return tuple(str(k) for k in raw) if isinstance(raw, dict) else _names(raw)


def _edit_fields(raw: Any) -> tuple:
    if not isinstance(raw, dict):
        return ()
    return tuple((str(k), _names(v)) for k, v in raw.items())


def _on_enter(b: Builder, path: tuple, raw: list | None) -> tuple[m.StepAction, ...]:
    out = []
    for i, item in enumerate(raw or []):
        (kind, args), = item.items()
        p = path + (i, kind)
        if kind in _ACTION_ARGS:
            out.append(m.StepAction(kind, _ACTION_ARGS[kind](b, p, args), b.source(p)))
            continue
        # a plugin action: the engine owns its `if`, the plugin gets the rest
        cond = args.get("if") if isinstance(args, dict) else None
        if isinstance(args, dict):
            args = {k: v for k, v in args.items() if k != "if"}
        out.append(m.StepAction(kind, _plugin_args(b, p, args), b.source(p),
                                if_=b.expr(p + ("if",), cond)))
    return tuple(out)


def _set_args(b: Builder, p: tuple, args: dict) -> m.SetArgs:
    # `if` in a set map is the condition, never a field (it is a keyword: no
    # expression could name such a field anyway)
    fields = {k: v for k, v in args.items() if k != "if"}
    return m.SetArgs(b.values(p, fields), if_=b.expr(p + ("if",), args.get("if")))


def _lines_args(b: Builder, p: tuple, args: dict | None) -> m.LinesArgs | None:
    if not args:
        return None
    return m.LinesArgs(table=args["table"], from_=args["from"],
                       values=b.values(p + ("values",), args.get("values")),
                       if_=b.expr(p + ("if",), args.get("if")),
                       source=b.expr(p + ("from",), args["from"]))


def _create_args(b: Builder, p: tuple, args: dict) -> m.CreateArgs:
    return m.CreateArgs(form=args["form"], values=b.values(p + ("values",), args.get("values")),
                        each=args.get("each"), if_=b.expr(p + ("if",), args.get("if")),
                        lines=_lines_args(b, p + ("lines",), args.get("lines")))


def _update_args(b: Builder, p: tuple, args: dict) -> m.UpdateArgs:
    return m.UpdateArgs(form=args["form"], id=b.expr(p + ("id",), args.get("id")),
                        values=b.values(p + ("set",), args.get("set")), each=args.get("each"),
                        where=b.expr(p + ("where",), args.get("where")),
                        if_=b.expr(p + ("if",), args.get("if")))


def _notify_args(b: Builder, p: tuple, args: dict) -> m.NotifyArgs:
    return m.NotifyArgs(to=_people(args.get("to"), m.RecipientSpec) or m.RecipientSpec(),
                        subject=str(args.get("subject", "")), body=str(args.get("body", "")),
                        channels=_names(args.get("channels")) or ("inbox",),
                        if_=b.expr(p + ("if",), args.get("if")))


def _plugin_args(b: Builder, p: tuple, args: Any) -> Any:
    # Plugin actions get their arguments as an immutable view (tuples of
    # (key, value) pairs for mappings): definitions stay frozen once loaded.
    return _freeze(args)


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple((k, _freeze(v)) for k, v in value.items())
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


_ACTION_ARGS: dict[str, Callable] = {
    "set": _set_args, "create": _create_args, "update": _update_args, "notify": _notify_args,
}


def build_workflow(b: Builder) -> m.WorkflowSpec:
    d = b.doc.data
    steps = {}
    for name, raw in (d.get("steps") or {}).items():
        raw = raw or {}
        p = ("steps", name)
        overdue = raw.get("on_overdue")
        steps[name] = m.StepSpec(
            name=name, title=m.Label.of(raw.get("title"), name.replace("_", " ").capitalize()),
            actions={a: _action(b, p + ("actions", a), a, v) for a, v in (raw.get("actions") or {}).items()},
            edit=_edit_who(raw.get("edit")), edit_fields=_edit_fields(raw.get("edit")),
            approvers=_people(raw.get("approvers"), m.ApproverSpec),
            mode=raw.get("mode", "any"), due=b.duration(p + ("due",), raw.get("due")),
            on_overdue=m.OverdueSpec(
                remind_every=b.duration(p + ("on_overdue", "remind_every"), overdue.get("remind_every")),
                escalate_to=_people(overdue.get("escalate_to"), m.ApproverSpec),
                after=b.duration(p + ("on_overdue", "after"), overdue.get("after")),
            ) if overdue else None,
            on_enter=_on_enter(b, p + ("on_enter",), raw.get("on_enter")),
            final=bool(raw.get("final", False)),
            delete=_names(raw["delete"]) if "delete" in raw else None,
            allow_self_approval=bool(raw.get("allow_self_approval", False)),
            source=b.source(p),
        )
    return m.WorkflowSpec(id=d["workflow"], form=d["form"], start=d["start"], steps=steps,
                          title=m.Label.of(d.get("title"), d["workflow"]),
                          version=content_hash(b.doc), source=b.source())


def content_hash(doc: SourceDoc) -> str:
    blob = json.dumps(doc.data, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


# --- alerts ----------------------------------------------------------------


def build_alert(b: Builder) -> m.AlertSpec:
    d = b.doc.data
    on = d.get("on")
    if isinstance(on, dict):
        trigger = m.TriggerSpec("schedule", cron=str(on["schedule"]))
    elif str(on).startswith("enter:"):
        trigger = m.TriggerSpec("enter", step=str(on).split(":", 1)[1].strip())
    else:
        trigger = m.TriggerSpec(str(on))
    notify = d.get("notify")
    create = d.get("create")
    return m.AlertSpec(
        id=d["alert"], form=d["form"], on=trigger, if_=b.expr(("if",), d.get("if")),
        once=bool(d.get("once", False)),
        notify=m.AlertNotify(
            to=_people(notify.get("to"), m.RecipientSpec) or m.RecipientSpec(),
            channels=_names(notify.get("channels")) or ("inbox",),
            subject=str(notify.get("subject", "")), body=str(notify.get("body", "")),
            webhook=notify.get("webhook"),
        ) if notify else None,
        create=_create_args(b, ("create",), create) if create else None,
        actions=_on_enter(b, ("actions",), d.get("actions")),
        title=m.Label.of(d.get("title"), d["alert"].replace("_", " ").capitalize()),
        source=b.source(),
    )


# --- reports ---------------------------------------------------------------


def _columns(b: Builder, key: str, raw: list | None) -> tuple[m.Column, ...]:
    out = []
    for i, c in enumerate(raw or []):
        p = (key, i)
        expr_text = c.get("expr")
        if expr_text is None and key in ("group_by", "columns"):
            expr_text = c["name"]
        out.append(m.Column(
            name=c["name"], expr=b.expr(p + ("expr",) if "expr" in c else p + ("name",), expr_text),
            label=m.Label.of(c.get("label"), c["name"].replace("_", " ").capitalize()),
            agg=c.get("agg"),
        ))
    return tuple(out)


def build_report(b: Builder) -> m.ReportSpec:
    d = b.doc.data
    source, lines = d.get("source"), None
    if source and "." in source:
        source, lines = source.split(".", 1)
    params = tuple(
        m.ParamSpec(name=p["name"], type=p.get("type", "text"),
                    label=m.Label.of(p.get("label"), p["name"].replace("_", " ").capitalize()),
                    default=b.value(("params", i, "default"), p["default"]) if "default" in p else None,
                    options=_names(p.get("options")), required=bool(p.get("required", False)))
        for i, p in enumerate(d.get("params") or [])
    )
    chart = d.get("chart")
    order_by = tuple((o[1:], True) if str(o).startswith("-") else (str(o), False)
                     for o in _names(d.get("order_by")))
    return m.ReportSpec(
        id=d["report"], title=m.Label.of(d.get("title"), d["report"].replace("_", " ").capitalize()),
        source=source, lines=lines, filter=b.expr(("filter",), d.get("filter")),
        where=b.expr(("where",), d.get("where")), params=params,
        group_by=_columns(b, "group_by", d.get("group_by")),
        measures=_columns(b, "measures", d.get("measures")),
        columns=_columns(b, "columns", d.get("columns")),
        having=b.expr(("having",), d.get("having")), order_by=order_by, limit=d.get("limit"),
        chart=m.ChartSpec(type=chart["type"], x=chart.get("x"), y=_names(chart.get("y")),
                          series=chart.get("series")) if chart else None,
        tiles=_names(d.get("tiles")), permissions=_names(d.get("permissions")),
        source_file=b.source(),
    )


BUILDERS: dict[str, Callable[[Builder], Any]] = {
    "app": build_app, "form": build_form, "workflow": build_workflow,
    "alert": build_alert, "report": build_report,
}
