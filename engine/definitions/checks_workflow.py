"""Semantic checks of workflows: the step graph, actors, conditions and on-enter actions.

Decisions where DESIGN.md is silent:
- A step with no actions that is not `final` is an end step (DESIGN's own
  `archived`). "No way out" is a step from which no end step (final, or
  without actions) can be reached: records that enter it circle for ever.
- An approval step (one with `approvers`) must have actions: approvers need
  something to decide.
- Only a list of two or more branches must end with an unconditional entry; a
  single `{to, if}` is a guard (the action is offered only when `if` holds).
"""
from __future__ import annotations

from dataclasses import replace

from ..errors import ExpressionError
from ..expr import types as T
from .semantics import (
    APPROVER_ACTIONS, E_ACTION_KIND, E_APPROVAL_ACTIONS, E_BUILTIN_ACTION, OWNER_ACTIONS, E_FIELD, E_FIELD_KIND, E_LAST_BRANCH, E_NO_WAY_OUT,
    E_CREATE_LINES, E_REQUIRED, E_START, E_STEP, E_UNREACHABLE, E_UPDATE_TARGET, E_WHERE_TARGET,
    E_WORKFLOW_DUP, W_FINAL_ACTIONS, Context, names_at, value_at,
    E_FROM_STEP, E_LINE_ID, E_LINE_NO_TABLE, E_LINE_TABLE, E_LINE_TARGET, W_REENTRY,
)
from .environment import target_line
from .suggest import suggestion_suffix

E_SUMMARY = "LOOM-E161"


def check(ctx: Context) -> None:
    first_for_form: dict[str, str] = {}
    for wid, doc in ctx.docs.get("workflow", {}).items():
        wf = ctx.defs.workflows.get(wid)
        if wf is None:
            continue
        if wf.form in first_for_form and first_for_form[wf.form] != wid:
            ctx.add(doc, ("form",), f"form {wf.form!r} already has workflow "
                    f"{first_for_form[wf.form]!r}; a form has at most one workflow",
                    E_WORKFLOW_DUP)
        first_for_form.setdefault(wf.form, wid)
        WorkflowCheck(ctx, wf, doc).run()


class WorkflowCheck:
    def __init__(self, ctx: Context, wf, doc):
        self.ctx, self.wf, self.doc = ctx, wf, doc
        self.form = wf.form if ctx.check_form_ref(doc, ("form",), wf.form) else None

    def run(self) -> None:
        wf, doc = self.wf, self.doc
        steps = list(wf.steps)
        if wf.start not in wf.steps:
            self.ctx.add(doc, ("start",), f"start {wf.start!r} is not a step (the steps are "
                         f"{', '.join(steps)}){suggestion_suffix(wf.start, steps)}", E_START)
        for name, step in wf.steps.items():
            self.step(name, step)
        self.graph()
        self.summary()

    def summary(self) -> None:
        """`summary:` names fields of the form the inbox can show (not line tables)."""
        spec = self.ctx.defs.forms.get(self.form) if self.form else None
        if spec is None:
            return
        names = [f.name for f in spec.fields if not f.is_table]
        for i, name in enumerate(self.wf.summary):
            f = spec.field(name)
            if f is None or f.is_table:
                self.ctx.add(self.doc, ("summary", i), f"summary names {name!r}, which is not a "
                             f"field of form {self.form}{suggestion_suffix(name, names)}; the inbox "
                             "shows fields of the record (not line tables)", E_SUMMARY)

    # --- one step -------------------------------------------------------------

    def step(self, name: str, step) -> None:
        ctx, doc = self.ctx, self.doc
        p = ("steps", name)
        if not step.edit_fields:  # a role → fields map is checked with the fields (checks_access)
            ctx.check_roles(doc, p + ("edit",))
        ctx.check_roles(doc, p + ("delete",))
        if step.approvers is not None:
            ctx.check_recipient(doc, p + ("approvers",), self.form, step.approvers, "approvers")
            if not step.actions and not step.final:
                ctx.add(doc, p, f"approval step {name!r} has approvers but no actions; add "
                        "actions such as approve: {to: ...} and reject: {to: ...}",
                        E_APPROVAL_ACTIONS, key=True)
        if step.on_overdue is not None and step.on_overdue.escalate_to is not None:
            ctx.check_recipient(doc, p + ("on_overdue", "escalate_to"), self.form,
                                step.on_overdue.escalate_to, "escalate_to")
        if step.final and step.actions:
            ctx.add(doc, p + ("final",), f"final step {name!r} has actions; a final step ends "
                    "the workflow, so remove `final: true` or the actions",
                    W_FINAL_ACTIONS, severity="warning")
        env = ctx.env(self.form) if self.form else None
        builtin = OWNER_ACTIONS + (APPROVER_ACTIONS if step.approvers is not None else ())
        for aname, action in step.actions.items():
            if aname in builtin:
                why = ("the owner's way back to the start step" if aname in OWNER_ACTIONS else
                       "every approver has it: " + ", ".join(APPROVER_ACTIONS))
                ctx.add(doc, p + ("actions", aname), f"action {aname!r} is built in ({why}); "
                        "give this action another name", E_BUILTIN_ACTION, key=True)
                continue
            self.action(p + ("actions", aname), aname, action, env)
        for i, act in enumerate(step.on_enter):
            self.on_enter(p + ("on_enter", i), act, env)
            for j, src in enumerate(act.from_):
                if src not in self.wf.steps:
                    ctx.add(doc, p + ("on_enter", i, act.kind, "from", j), f"from: {src!r} is "
                            f"not a step (the steps are {', '.join(self.wf.steps)})"
                            f"{suggestion_suffix(src, list(self.wf.steps))}", E_FROM_STEP)

    def action(self, path: tuple, aname: str, action, env) -> None:
        ctx, doc = self.ctx, self.doc
        raw = value_at(doc, path)
        is_list = isinstance(raw, list)
        steps = list(self.wf.steps)
        for i, branch in enumerate(action.branches):
            bp = path + (i,) if is_list else path
            if branch.to not in self.wf.steps:
                ctx.add(doc, bp + ("to",), f"action {aname!r} goes to unknown step "
                        f"{branch.to!r}{suggestion_suffix(branch.to, steps)}", E_STEP)
            if branch.if_ is not None and env is not None:
                ctx.check_condition(doc, bp + ("if",), branch.if_, env, "if")
            ctx.check_roles(doc, bp + ("by",))
        if is_list and len(action.branches) > 1 and action.branches[-1].if_ is not None:
            last = path + (len(action.branches) - 1, "if")
            ctx.add(doc, last, f"the last entry of {aname} has an `if`; add a last entry "
                    "without `if` so the record always has somewhere to go", E_LAST_BRANCH,
                    key=True)

    # --- on-enter actions -------------------------------------------------------

    def on_enter(self, path: tuple, act, env) -> None:
        ctx, doc = self.ctx, self.doc
        kinds = ctx.action_kinds()
        if act.kind not in kinds:
            ctx.add(doc, path + (act.kind,), f"unknown on_enter action {act.kind!r} (the "
                    f"actions are {', '.join(sorted(kinds))}){suggestion_suffix(act.kind, kinds)}",
                    E_ACTION_KIND, key=True)
            return
        p = path + (act.kind,)
        if self.form is None:
            return
        if act.if_ is not None and env is not None:  # a plugin action's `if`
            ctx.check_condition(doc, p + ("if",), act.if_, env, "if")
        if act.kind == "set":
            self.values(p, self.form, act.args.values, env, "set")
            if act.args.if_ is not None:
                ctx.check_condition(doc, p + ("if",), act.args.if_, env, "if")
        elif act.kind == "create":
            check_create(ctx, doc, p, self.form, act.args)
        elif act.kind == "update":
            self.update(p, act.args)
        elif act.kind == "notify":
            ctx.check_recipient(doc, p + ("to",), self.form, act.args.to, "notify to")
            ctx.check_channels(doc, p + ("channels",))
            ctx.check_template(doc, p + ("subject",), value_at(doc, p + ("subject",)), env)
            ctx.check_template(doc, p + ("body",), value_at(doc, p + ("body",)), env)
            if act.args.if_ is not None:
                ctx.check_condition(doc, p + ("if",), act.args.if_, env, "if")

    def values(self, path: tuple, target_form: str, values, env, what: str) -> None:
        check_values(self.ctx, self.doc, path, target_form, values, env, what)

    def update(self, p: tuple, args) -> None:
        ctx, doc = self.ctx, self.doc
        extra = {}
        if args.each is not None:
            line = each_row(ctx, doc, p + ("each",), self.form, args.each)
            extra["line"] = line if line is not None else T.t(T.ANY)  # reported once, not per use
        target_ok = ctx.check_form_ref(doc, p + ("form",), args.form)
        env = ctx.env(self.form, extra=extra)
        if args.if_ is not None:
            ctx.check_condition(doc, p + ("if",), args.if_, env, "if")
        raw = value_at(doc, p) or {}
        if "table" in raw:
            self.line_update(p, args, raw, extra, env, target_ok, args.table)
            return
        if "line" in raw:
            # a link to a line of FORM.TABLE says the table itself
            table = line_link_table(ctx, env, args)
            if table is not None:
                self.line_update(p, args, raw, extra, env, target_ok, table)
                return
            ctx.add(doc, p + ("line",), "update: line names one line of a table; say which "
                    "table with table: (a table field of " + args.form + "), or give a link "
                    "to a line of it", E_LINE_NO_TABLE, key=True)
        if ("id" in raw) == ("where" in raw):
            both = "id" in raw
            ctx.add(doc, p + (("where" if both else "form"),),
                    "update: give either id (the record's id) or where (a condition over "
                    "target's fields that exactly one record meets); " +
                    ("it has both" if both else "it has neither"), E_UPDATE_TARGET, key=both)
        self.record_id(p, args, env, target_ok)
        if target_ok:
            if args.create_missing is not None:
                self.values(p + ("create_missing",), args.form, args.create_missing, env,
                            "create_missing")
            extra = dict(extra, target=T.link(args.form))
            tenv = ctx.env(self.form, extra=extra)
            if args.where is not None:
                check_where(ctx, doc, p + ("where",), args.where, tenv, args.form)
            self.values(p + ("set",), args.form, args.values, tenv, "update")

    def record_id(self, p: tuple, args, env, target_ok: bool) -> None:
        if args.id is None:
            return
        t = self.ctx.check_expr(self.doc, p + ("id",), args.id, env)
        if t is not None and target_ok and not (
                (t.kind == T.LINK and t.form == args.form) or t.kind in (T.INTEGER, T.ANY)):
            self.ctx.add(self.doc, p + ("id",), f"id must give a {args.form} record (a link to "
                         f"{args.form} or an id), not {t}", "LOOM-E035")

    def line_update(self, p: tuple, args, raw: dict, extra: dict, env, target_ok: bool,
                    table: str) -> None:
        """`update` with `table`: one line of a record of `form`, by `line` or `id` + `where`."""
        ctx, doc = self.ctx, self.doc
        args = replace(args, table=table)
        self.record_id(p, args, env, target_ok)
        if not target_ok:
            return
        types = ctx.form_types.get(args.form, {})
        t = types.get(args.table)
        if t is None or t.kind != T.TABLE:
            tables = [n for n, x in types.items() if x.kind == T.TABLE]
            what = "has no field" if t is None else "has a field, not a table,"
            ctx.add(doc, p + ("table",), f"update: form {args.form!r} {what} {args.table!r}; "
                    f"table names a table of line items (its tables: "
                    f"{', '.join(tables) or 'none'}){suggestion_suffix(args.table, tables)}",
                    E_LINE_TABLE)
            return
        if ("line" in raw) == ("where" in raw) or ("where" in raw and "id" not in raw):
            ctx.add(doc, p + ("table",), "update of a line: give line (an expression giving the "
                    "line's id) or id and where (the record, and a condition over its lines "
                    "that exactly one meets); " + ("it has both line and where" if "line" in raw
                                                   else "where needs id" if "where" in raw
                                                   else "it has neither"), E_LINE_TARGET,
                    key=True)
        if args.line is not None:
            lt = ctx.check_expr(doc, p + ("line",), args.line, env)
            if lt is not None and lt.kind not in (T.TEXT, T.ANY, T.NULL, T.LINK):
                ctx.add(doc, p + ("line",), f"line must give the id of a line of "
                        f"{args.form}.{args.table} (text, like line.source_line), not {lt}",
                        E_LINE_ID)
        row = target_line(ctx.form_types, args.form, args.table)
        tenv = ctx.env(self.form, extra=dict(extra, target=row))
        if args.where is not None:
            check_where(ctx, doc, p + ("where",), args.where, tenv, f"{args.table} line")
        cells = t.item.field_map()
        if args.create_missing is not None:
            self.line_values(p + ("create_missing",), args, cells, args.create_missing, env)
        self.line_values(p + ("set",), args, cells, args.values, tenv)

    def line_values(self, path: tuple, args, cells, values, env) -> None:
        """`set`/`create_missing` of a line update: keys are cells of the target table."""
        for key, value in values:
            if key not in cells:
                self.ctx.add(self.doc, path + (key,), f"update: table {args.table!r} of form "
                             f"{args.form!r} has no field {key!r}"
                             f"{suggestion_suffix(key, sorted(cells))}", E_FIELD, key=True)
                continue
            self.ctx.check_value(self.doc, path + (key,), value, env, cells[key],
                                 f"field {key!r}")

    # --- the step graph -------------------------------------------------------

    def graph(self) -> None:
        wf, doc = self.wf, self.doc
        edges = {name: [b.to for a in s.actions.values() for b in a.branches if b.to in wf.steps]
                 for name, s in wf.steps.items()}
        if wf.start in wf.steps:
            reached = _reach(wf.start, edges)
            for name in wf.steps:
                if name not in reached:
                    self.ctx.add(doc, ("steps", name), f"step {name!r} is unreachable: no action "
                                 f"leads to it from {wf.start!r}", E_UNREACHABLE, key=True)
        else:
            reached = set(wf.steps)
        self.reentries(edges)
        ends = {n for n, s in wf.steps.items() if s.final or not s.actions}
        for name in wf.steps:
            if name in reached and name not in ends and not (_reach(name, edges) & ends):
                self.ctx.add(doc, ("steps", name), f"step {name!r} has no way out: none of its "
                             "actions leads, directly or not, to a final step; add an action "
                             "to one", E_NO_WAY_OUT, key=True)


    def reentries(self, edges: dict) -> None:
        """Warn where a step some route leads back into has on-enter actions that create or
        update other records without saying which entries they belong to (`from`, `once`):
        entering it again would do it all again (a second reservation, a second order)."""
        for name, step in self.wf.steps.items():
            unguarded = [(i, a) for i, a in enumerate(step.on_enter)
                         if a.kind in SIDE_EFFECTS and not a.guarded]
            if not unguarded:
                continue
            back = [s for s in self.wf.steps if s != name and name in edges.get(s, ())
                    and s in _reach(name, edges)] + ([name] if name in edges.get(name, ()) else [])
            if not back:
                continue
            for i, act in unguarded:
                self.ctx.add(self.doc, ("steps", name, "on_enter", i, act.kind),
                             f"step {name!r} can be entered again (from {', '.join(back)}) and "
                             f"this {act.kind} would run again each time; say which entries it "
                             f"belongs to with once: true (first entry only) or from: [steps]",
                             W_REENTRY, severity="warning", key=True)


def line_link_table(ctx: Context, env, args) -> str | None:
    """The table a `line:` expression's type names (a link to FORM.TABLE of the updated
    form), or None."""
    if args.line is None:
        return None
    try:
        t = args.line.check(env, ctx.functions)
    except ExpressionError:  # reported where the expression is checked
        return None
    form, _, table = (t.form or "").partition(".") if t.kind == T.LINK else ("", "", "")
    return table if form == args.form and table else None


SIDE_EFFECTS = ("create", "update")  # on-enter kinds that write other records


def _reach(start: str, edges: dict) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def each_row(ctx: Context, doc, path: tuple, form_id: str, each: str, what: str = "each"):
    """The row type of table `each` of `form_id`, or None after reporting why not."""
    types = ctx.form_types.get(form_id, {})
    t = types.get(each)
    if t is None:
        tables = [n for n, x in types.items() if x.kind == T.TABLE]
        ctx.add(doc, path, f"{what}: form {form_id!r} has no field {each!r}"
                f"{suggestion_suffix(each, tables)}", E_FIELD)
        return None
    if t.kind != T.TABLE:
        ctx.add(doc, path, f"{what}: {each!r} is a {t} field; {what} names a table of line "
                "items", E_FIELD_KIND)
        return None
    return t.item


def check_values(ctx: Context, doc, path: tuple, target_form: str, values, env, what: str) -> None:
    """`set`/`values` maps: keys are fields of `target_form`, values check in `env`."""
    types = ctx.form_types.get(target_form, {})
    defs_form = ctx.defs.forms.get(target_form)
    own = set(defs_form.field_names) if defs_form else set(types)
    for key, value in values:
        if key not in own:
            ctx.add(doc, path + (key,), f"{what}: form {target_form!r} has no field {key!r}"
                    f"{suggestion_suffix(key, sorted(own))}", E_FIELD, key=True)
            continue
        target = types.get(key)
        if target is not None and target.kind == T.TABLE:
            ctx.add(doc, path + (key,), f"{what}: {key!r} is a table of line items and cannot "
                    "be set from an expression", E_FIELD_KIND, key=True)
            continue
        ctx.check_value(doc, path + (key,), value, env, target, f"field {key!r}")


def check_where(ctx: Context, doc, path: tuple, where, env, target_form: str) -> None:
    """`update.where`: true/false, and about the candidate (`target`), else it picks nothing."""
    before = len(ctx.problems)
    ctx.check_condition(doc, path, where, env, "where")
    if len(ctx.problems) == before and not any(x[0] == "target" for x in where.paths()):
        ctx.add(doc, path, f"where never names target, so it cannot tell one {target_form} "
                f"record from another; compare target's fields, like "
                f"'target.item == line.item'", E_WHERE_TARGET)


def check_create(ctx: Context, doc, path: tuple, source_form: str, args) -> None:
    """A `create` block run on a record of `source_form` (a workflow's or an alert's form)."""
    extra = {}
    if args.each is not None:
        line = each_row(ctx, doc, path + ("each",), source_form, args.each)
        extra["line"] = line if line is not None else T.t(T.ANY)
    env = ctx.env(source_form, extra=extra)
    if args.if_ is not None:
        ctx.check_condition(doc, path + ("if",), args.if_, env, "if")
    if not ctx.check_form_ref(doc, path + ("form",), args.form):
        return
    check_values(ctx, doc, path + ("values",), args.form, args.values, env, "create")
    given = {k for k, _ in args.values}
    if args.lines is not None:
        given.add(args.lines.table)
        check_lines(ctx, doc, path + ("lines",), source_form, args)
    for f in ctx.defs.forms[args.form].fields:
        if f.required and f.default is None and f.compute is None and f.name not in given \
                and not f.is_table:
            ctx.add(doc, path + ("form",), f"create {args.form}: required field {f.name!r} "
                    "has no default and is not given in values", E_REQUIRED)


def check_lines(ctx: Context, doc, path: tuple, source_form: str, args) -> None:
    """`create.lines`: a table of the new record, filled from a table of the acting record
    (`from: lines`) or of a record it links to (`from: item.kit.parts`)."""
    lines = args.lines
    if args.each is not None and not lines.through_links:
        ctx.add(doc, path + ("from",), "create: with each, lines cannot copy the acting "
                f"record's own table {lines.from_!r} (`line` is already the acting record's "
                "line); create one record per line with each, or one record with all lines "
                "without each, or copy a linked record's table, like "
                "from: line.item.kit.parts", E_CREATE_LINES)
        return
    target_types = ctx.form_types.get(args.form, {})
    table = target_types.get(lines.table)
    tables = [n for n, x in target_types.items() if x.kind == T.TABLE]
    if table is None:
        ctx.add(doc, path + ("table",), f"lines: form {args.form!r} has no field "
                f"{lines.table!r}{suggestion_suffix(lines.table, tables)}", E_FIELD)
        return
    if table.kind != T.TABLE:
        ctx.add(doc, path + ("table",), f"lines: {lines.table!r} is a {table} field; table "
                "names a table of line items of the new record", E_FIELD_KIND)
        return
    row = source_row(ctx, doc, path + ("from",), source_form, args)
    extra = {"line": row if row is not None else T.t(T.ANY)}
    if args.each is not None:
        outer = ctx.form_types.get(source_form, {}).get(args.each)
        extra["outer"] = outer.item if outer is not None and outer.item is not None \
            else T.t(T.ANY)
    env = ctx.env(source_form, extra=extra)
    if lines.if_ is not None:
        ctx.check_condition(doc, path + ("if",), lines.if_, env, "if")
    spec = ctx.defs.forms[args.form].field(lines.table)
    own = [f.name for f in spec.fields]
    row_types = table.item.field_map() if table.item is not None else {}
    for key, value in lines.values:
        if key not in own:
            ctx.add(doc, path + ("values", key), f"lines: table {lines.table!r} of "
                    f"{args.form!r} has no field {key!r}{suggestion_suffix(key, own)}",
                    E_FIELD, key=True)
            continue
        ctx.check_value(doc, path + ("values", key), value, env, row_types.get(key),
                        f"field {key!r}")
    given = {k for k, _ in lines.values}
    for f in spec.fields:
        if f.required and f.default is None and f.compute is None and f.name not in given:
            ctx.add(doc, path + ("table",), f"lines: required field {f.name!r} of "
                    f"{args.form}.{lines.table} has no default and is not given in values",
                    E_REQUIRED)


def source_row(ctx: Context, doc, path: tuple, source_form: str, args):
    """The row type of `lines.from`, or None after reporting why it is not a table.

    A bare name is a table field of the acting record; a dotted path is checked as
    an expression in the create's scope (`line` is the `each` line) and must end in
    a table, like item.kit.parts."""
    lines = args.lines
    if not lines.through_links:
        return each_row(ctx, doc, path, source_form, lines.from_, "lines from")
    if lines.source is None:
        return None  # did not parse; the builder reported it
    extra = {}
    if args.each is not None:
        each = ctx.form_types.get(source_form, {}).get(args.each)
        extra["line"] = each.item if each is not None and each.item is not None else T.t(T.ANY)
    t = ctx.check_expr(doc, path, lines.source, ctx.env(source_form, extra=extra))
    if t is None or t.kind == T.ANY:
        return None
    if t.kind != T.TABLE:
        ctx.add(doc, path, f"lines from: {lines.from_!r} is {t}; lines from must end in a "
                "table of line items, like item.kit.parts", E_FIELD_KIND)
        return None
    return t.item


__all__ = ["check", "check_create", "check_lines", "check_values", "check_where", "each_row",
           "names_at", "source_row"]
