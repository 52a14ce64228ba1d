"""Semantic checks of `migrate:` sections: they move records from what is gone to what exists.

A form's `rename` goes from a field that no longer exists to one that does; its
`fill` names fields of the form with values of their type. A workflow's
`migrate.steps` goes from a step that no longer exists to one that does.
"""
from __future__ import annotations

from .checks_workflow import check_values
from .semantics import Context
from .suggest import suggestion_suffix

E_MIGRATE = "LOOM-E185"  # a migration from something that still exists, or to nothing


def check(ctx: Context) -> None:
    for fid, doc in ctx.docs.get("form", {}).items():
        form = ctx.defs.forms.get(fid)
        if form is not None and form.migrate is not None:
            _form(ctx, form, doc)
    for wid, doc in ctx.docs.get("workflow", {}).items():
        wf = ctx.defs.workflows.get(wid)
        if wf is not None and wf.migrate:
            _workflow(ctx, wf, doc)


def _form(ctx: Context, form, doc) -> None:
    for old, new in form.migrate.rename:
        path = ("migrate", "rename", old)
        if form.field(old) is not None:
            ctx.add(doc, path, f"field {old!r} still exists; rename moves values out of a field "
                    "that was removed or renamed", E_MIGRATE, key=True)
        if form.field(new) is None:
            ctx.add(doc, path, f"form {form.id!r} has no field {new!r} to rename {old!r} to"
                    f"{suggestion_suffix(new, form.field_names)}", E_MIGRATE)
    check_values(ctx, doc, ("migrate", "fill"), form.id, form.migrate.fill, ctx.env(form.id),
                 "migrate fill")


def _workflow(ctx: Context, wf, doc) -> None:
    for old, new in wf.migrate:
        path = ("migrate", "steps", old)
        if old in wf.steps:
            ctx.add(doc, path, f"step {old!r} still exists; migrate moves records out of a step "
                    "that was removed", E_MIGRATE, key=True)
        if new not in wf.steps:
            ctx.add(doc, path, f"workflow {wf.id!r} has no step {new!r} to move records to"
                    f"{suggestion_suffix(new, list(wf.steps))}", E_MIGRATE)
