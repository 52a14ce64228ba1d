"""Semantic checks of scenario tests: every name a scenario uses exists in the tree.

Users' roles and managers, given records' forms and fields, the record each
step names (a `ref` made earlier in the scenario), the action a verb stands
for in that record's workflow, and an expectation's keys, states and fields —
so a typo in a scenario is a `loom check` error at its file:line:col, not a
confusing failure when it runs.
"""
from __future__ import annotations

from .scenarios import EXPECT_KEYS, action_for, action_names
from .semantics import E_FIELD, E_FORM, Context
from .suggest import suggestion_suffix

E_USER = "LOOM-E181"  # a user the scenario does not give
E_REF = "LOOM-E182"  # a record name no earlier step made
E_ACTION = "LOOM-E183"  # a verb that is no action of the record's workflow
E_EXPECT = "LOOM-E184"  # an expectation key, state or field that does not exist


def check(ctx: Context) -> None:
    for sid, doc in ctx.docs.get("scenario", {}).items():
        spec = ctx.defs.scenarios.get(sid)
        if spec is not None:
            _check(ctx, spec, doc)


def _check(ctx: Context, spec, doc) -> None:
    users = {u.name for u in spec.users}

    def user(name, path, *, key=False):
        if name is not None and name not in users:
            ctx.add(doc, path, f"user {name!r} is not given in this scenario's users"
                    f"{suggestion_suffix(name, sorted(users))}", E_USER, key=key)

    for u in spec.users:
        for i, role in enumerate(u.roles):
            ctx.check_role(doc, ("users", u.name, "roles", i), role, owner=False)
        user(u.manager, ("users", u.name, "manager"))
        user(u.delegate, ("users", u.name, "away", "delegate"))
    refs: dict[str, str] = {}  # record name -> form
    for i, given in enumerate(spec.records):
        if ctx.check_form_ref(doc, ("records", i, "form"), given.form):
            _fields(ctx, doc, ("records", i, "values"), given.form, given.values)
            if given.ref:
                refs[given.ref] = given.form
        user(given.as_user, ("records", i, "as"))
    last: str | None = None  # the form of the record a step without a name acts on
    for i, step in enumerate(spec.steps):
        path = _step_path(doc, i)
        user(step.user, path)
        if step.kind == "create":
            if step.from_ref is not None and step.from_ref not in refs:
                ctx.add(doc, path, f"no earlier step or given record is called {step.from_ref!r} "
                        f"to make {step.form} from{suggestion_suffix(step.from_ref, sorted(refs))}",
                        E_REF, key=len(path) == 3)
            if ctx.check_form_ref(doc, path, step.form):
                _fields(ctx, doc, path, step.form, step.data)
                last = step.form
                if step.ref:
                    refs[step.ref] = step.form
            continue
        if step.kind not in ("edit", "act", "expect"):
            continue
        form = _record(ctx, doc, path, step, refs, last)
        if form is None:
            continue
        last = form
        if step.kind == "edit":
            _fields(ctx, doc, path, form, step.data)
        elif step.kind == "act":
            _action(ctx, doc, path, step, form)
        else:
            _expect(ctx, doc, path, step, form, users)


def _step_path(doc, i: int) -> tuple:
    raw = doc.data["steps"][i]
    return ("steps", i) if isinstance(raw, str) else ("steps", i, next(iter(raw)))


def _record(ctx, doc, path, step, refs, last) -> str | None:
    if step.ref is None:
        if last is None:
            ctx.add(doc, path, f"{step.text!r} names no record and no earlier step made one; "
                    "name it (like 'ann submits EC-1')", E_REF, key=len(path) == 3)
        return last
    if step.ref not in refs:
        ctx.add(doc, path, f"no earlier step or given record is called {step.ref!r}; a create "
                "names it ('ann creates expense_claim EC-1')"
                f"{suggestion_suffix(step.ref, sorted(refs))}", E_REF, key=len(path) == 3)
        return None
    return refs[step.ref]


def _fields(ctx, doc, path, form_id: str, values) -> None:
    form = ctx.defs.forms[form_id]
    for name in values:
        if form.field(name) is None:
            ctx.add(doc, path + (name,), f"form {form_id!r} has no field {name!r}"
                    f"{suggestion_suffix(name, form.field_names)}", E_FIELD, key=True)


def _action(ctx, doc, path, step, form_id: str) -> None:
    wf = ctx.workflow_for(form_id)
    if action_for(step.verb, wf) is None:
        ctx.add(doc, path, f"{step.verb!r} is no action of form {form_id!r}"
                f"{suggestion_suffix(step.verb, sorted(action_names(wf)))}", E_ACTION,
                key=len(path) == 3)


def _expect(ctx, doc, path, step, form_id: str, users) -> None:
    wf = ctx.workflow_for(form_id)
    for key, value in step.data.items():
        at = path + (key,)
        if key not in EXPECT_KEYS:
            ctx.add(doc, at, f"unknown expectation {key!r}{suggestion_suffix(key, EXPECT_KEYS)}; "
                    f"one of {', '.join(EXPECT_KEYS)}", E_EXPECT, key=True)
        elif key == "state":
            if wf is None:
                ctx.add(doc, at, f"form {form_id!r} has no workflow, so no state", E_EXPECT)
            elif value not in wf.steps:
                ctx.add(doc, at, f"workflow {wf.id!r} has no step {value!r}"
                        f"{suggestion_suffix(str(value), list(wf.steps))}", E_EXPECT)
        elif key == "values" and isinstance(value, dict):
            _fields(ctx, doc, at, form_id, value)
        elif key == "tasks":
            for name in value if isinstance(value, list) else [value]:
                if name not in users:
                    ctx.add(doc, at, f"user {name!r} is not given in this scenario's users",
                            E_USER)
        elif key == "created" and isinstance(value, dict):
            for fid in value:
                ctx.check_form_ref(doc, at + (fid,), fid)
        elif key == "notified":
            for i, note in enumerate(value if isinstance(value, list) else [value]):
                to = note.get("to") if isinstance(note, dict) else note
                if to not in users:
                    ctx.add(doc, at + (i,), f"user {to!r} is not given in this scenario's users",
                            E_USER)


__all__ = ["check", "E_USER", "E_REF", "E_ACTION", "E_EXPECT", "E_FORM"]
