"""Semantic checks of who may see and change which field: a field's `read`/`edit` roles and a
step's per-role `edit: {role: [field, ...]}` map.

    LOOM-E140 unknown role in a field's `read` or `edit`
    LOOM-E141 unknown role in a step's `edit` map
    LOOM-E142 a step's `edit` map names a field the form does not have
    LOOM-E143 `read`/`edit` on a line-item field (set them on the table)
    LOOM-E144 a step's `edit` map names a computed or read-only field (nobody can write it)
    LOOM-E145 (warning) a field's `edit` names a role its `read` leaves out
"""
from __future__ import annotations

from .semantics import OWNER, Context, names_at, value_at
from .suggest import suggestion_suffix

E_FIELD_ROLE = "LOOM-E140"
E_STEP_ROLE = "LOOM-E141"
E_STEP_FIELD = "LOOM-E142"
E_CELL_ACCESS = "LOOM-E143"
E_STEP_READONLY = "LOOM-E144"
W_EDIT_UNREAD = "LOOM-E145"


def check(ctx: Context) -> None:
    for fid, doc in ctx.docs.get("form", {}).items():
        form = ctx.defs.forms.get(fid)
        if form is not None:
            _form(ctx, form, doc)
    for wid, doc in ctx.docs.get("workflow", {}).items():
        wf = ctx.defs.workflows.get(wid)
        if wf is not None and wf.form in ctx.defs.forms:
            _workflow(ctx, wf, doc)


def _role(ctx: Context, doc, path: tuple, name: str, what: str, code: str,
          key: bool = False) -> None:
    if not ctx.has_app or name in ctx.roles or name == OWNER:
        return
    candidates = sorted(ctx.roles) + [OWNER]
    ctx.add(doc, path, f"{what} names unknown role {name!r}{suggestion_suffix(name, candidates)} "
            "(roles are listed in app.yaml; owner is the record's owner)", code, key=key)


def _form(ctx: Context, form, doc) -> None:
    for i, f in enumerate(form.fields):
        base = ("fields", i)
        for key in ("read", "edit"):
            for p, name in names_at(doc, base + (key,)):
                _role(ctx, doc, p, name, f"field {f.name!r}: {key}", E_FIELD_ROLE)
        if f.read and f.edit:
            for p, name in names_at(doc, base + ("edit",)):
                if name not in f.read:
                    ctx.add(doc, p, f"field {f.name!r}: {name!r} may edit it but is not in its "
                            f"read list, so cannot see it; add {name!r} to read",
                            W_EDIT_UNREAD, severity="warning")
        for j, cell in enumerate(f.fields):
            for key in ("read", "edit"):
                if value_at(doc, base + ("fields", j, key)) is not None:
                    ctx.add(doc, base + ("fields", j, key), f"line-item field {cell.name!r} cannot "
                            f"have its own {key}; set {key} on the table {f.name!r}",
                            E_CELL_ACCESS, key=True)


def _workflow(ctx: Context, wf, doc) -> None:
    form = ctx.defs.forms[wf.form]
    names = list(form.field_names)
    for sname, step in wf.steps.items():
        if not step.edit_fields:
            continue
        p = ("steps", sname, "edit")
        for who, fields in step.edit_fields:
            _role(ctx, doc, p + (who,), who, f"step {sname!r}: edit", E_STEP_ROLE, key=True)
            for fp, fname in names_at(doc, p + (who,)):
                f = form.field(fname)
                if f is None:
                    ctx.add(doc, fp, f"step {sname!r}: edit for {who!r} names unknown field "
                            f"{fname!r} of form {form.id!r}{suggestion_suffix(fname, names)}",
                            E_STEP_FIELD)
                elif f.readonly:
                    why = "computed" if f.compute is not None else "read-only"
                    ctx.add(doc, fp, f"step {sname!r}: edit for {who!r} names {fname!r}, which is "
                            f"{why}; nobody can write it", E_STEP_READONLY)
