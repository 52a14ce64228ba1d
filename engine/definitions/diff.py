"""What changed between two loaded trees, per form, workflow, alert and report.

`loom diff OLD NEW` prints these; with a database it adds how many live
records each change touches (see `engine/workflow/record_migrations.py`).
Each `Difference` names the definition, what changed in words an admin reads
("field credit_terms added (text)", "step legal_review removed"), and a
`scope` that says which records it touches: every live record of a form, the
records in one step, or the records with a value in one field.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable

from . import model as m


@dataclass(frozen=True)
class Difference:
    kind: str  # form | workflow | alert | report | app
    id: str
    change: str  # added | removed | changed
    text: str
    form: str | None = None  # the form whose records it touches
    step: str | None = None  # only the records in this step (a removed or changed step)
    field: str | None = None  # only the records with a value here (a removed or retyped field)

    def as_json(self) -> dict:
        return {"kind": self.kind, "id": self.id, "change": self.change, "text": self.text,
                "form": self.form, "step": self.step, "field": self.field}


def diff_definitions(old, new) -> list[Difference]:
    """Every difference from `old` to `new`, definitions in id order within each kind."""
    out: list[Difference] = []
    out += _kind("form", old.forms, new.forms, _form)
    out += _kind("workflow", old.workflows, new.workflows, _workflow)
    out += _kind("alert", old.alerts, new.alerts, _alert)
    out += _kind("report", old.reports, new.reports, _report)
    if set(old.app.role_names) != set(new.app.role_names):
        for role in sorted(set(new.app.role_names) - set(old.app.role_names)):
            out.append(Difference("app", new.app.name, "added", f"role {role} added"))
        for role in sorted(set(old.app.role_names) - set(new.app.role_names)):
            out.append(Difference("app", new.app.name, "removed", f"role {role} removed"))
    return out


def _kind(kind, old: dict, new: dict, compare) -> list[Difference]:
    out = []
    for ident in sorted(set(old) | set(new)):
        before, after = old.get(ident), new.get(ident)
        form = _form_of(kind, after or before)
        if before is None:
            out.append(Difference(kind, ident, "added", f"{kind} {ident} added", form))
        elif after is None:
            out.append(Difference(kind, ident, "removed", f"{kind} {ident} removed", form))
        else:
            out += [Difference(kind, ident, "changed", text, form, step, fld)
                    for text, step, fld in compare(before, after)]
    return out


def _form_of(kind: str, spec) -> str | None:
    if kind == "form":
        return spec.id
    if kind in ("workflow", "alert"):
        return spec.form
    return getattr(spec, "source", None) if kind == "report" else None


def _type_text(f: m.FieldSpec) -> str:
    return f"{f.type} to {f.to}" if f.to else f.type


def _form(old: m.FormSpec, new: m.FormSpec) -> Iterable[tuple]:
    yield from _fields(old.fields, new.fields, "")
    for perm in ("create", "read", "update", "delete"):
        a, b = getattr(old.permissions, perm), getattr(new.permissions, perm)
        if set(a) != set(b):
            yield (f"permission {perm}: {_roles(a)} → {_roles(b)}", None, None)
    if old.number != new.number:
        yield (f"number pattern {old.number or '—'} → {new.number or '—'}", None, None)
    if old.title_field != new.title_field:
        yield (f"title field {old.title_field or '—'} → {new.title_field or '—'}", None, None)


def _fields(old: Iterable[m.FieldSpec], new: Iterable[m.FieldSpec], prefix: str) -> Iterable[tuple]:
    before = {f.name: f for f in old}
    after = {f.name: f for f in new}
    for name, f in after.items():
        if name not in before:
            need = ", required" if f.required and f.default is None and f.compute is None else ""
            yield (f"field {prefix}{name} added ({_type_text(f)}{need})", None, None)
    for name, f in before.items():
        if name not in after:
            yield (f"field {prefix}{name} removed (its values stay in history only)", None,
                   None if prefix else name)
    for name in before.keys() & after.keys():
        a, b = before[name], after[name]
        if (a.type, a.to) != (b.type, b.to):
            yield (f"field {prefix}{name} retyped: {_type_text(a)} → {_type_text(b)}", None,
                   None if prefix else name)
        if a.required != b.required:
            yield (f"field {prefix}{name} {'now required' if b.required else 'no longer required'}",
                   None, None)
        if set(a.options) != set(b.options):
            gone = sorted(set(a.options) - set(b.options))
            new_opts = sorted(set(b.options) - set(a.options))
            parts = ([f"+{', +'.join(new_opts)}"] if new_opts else []) + \
                ([f"-{', -'.join(gone)}"] if gone else [])
            yield (f"field {prefix}{name} options {' '.join(parts)}", None, None)
        if a.compute != b.compute:
            yield (f"field {prefix}{name} computes {_src(a.compute)} → {_src(b.compute)}", None, None)
        if a.is_table and b.is_table:
            yield from _fields(a.fields, b.fields, f"{prefix}{name}.")


def _src(expr) -> str:
    return getattr(expr, "source", None) or "—"


def _roles(roles) -> str:
    return ", ".join(sorted(roles)) or "nobody"


def _people(spec) -> str:
    if spec is None:
        return "—"
    if spec.role:
        return f"role {spec.role}"
    if spec.users:
        return "users " + ", ".join(spec.users)
    if spec.field:
        return f"field {spec.field}"
    return f"manager of {spec.manager_of}"


def _workflow(old: m.WorkflowSpec, new: m.WorkflowSpec) -> Iterable[tuple]:
    if old.start != new.start:
        yield (f"start step {old.start} → {new.start}", None, None)
    for name in new.steps.keys() - old.steps.keys():
        yield (f"step {name} added", None, None)
    for name in sorted(old.steps.keys() - new.steps.keys()):
        yield (f"step {name} removed", name, None)
    for name in [s for s in old.steps if s in new.steps]:
        a, b = old.steps[name], new.steps[name]
        if _people(a.approvers) != _people(b.approvers):
            yield (f"step {name} approvers: {_people(a.approvers)} → {_people(b.approvers)}", name, None)
        if a.mode != b.mode and b.is_approval:
            yield (f"step {name} mode {a.mode} → {b.mode}", name, None)
        if set(a.edit) != set(b.edit):
            yield (f"step {name} edit: {_roles(a.edit)} → {_roles(b.edit)}", name, None)
        for action in b.actions.keys() - a.actions.keys():
            yield (f"step {name}: action {action} added", None, None)
        for action in sorted(a.actions.keys() - b.actions.keys()):
            yield (f"step {name}: action {action} removed", name, None)
        for action in [x for x in a.actions if x in b.actions]:
            ra, rb = _routes(a.actions[action]), _routes(b.actions[action])
            if ra != rb:
                yield (f"step {name}: {action} routes {ra} → {rb}", name, None)
            if set(a.actions[action].by) != set(b.actions[action].by):
                yield (f"step {name}: {action} by {_roles(a.actions[action].by)} → "
                       f"{_roles(b.actions[action].by)}", None, None)
        if [replace(x, source=None) for x in a.on_enter] != [replace(x, source=None) for x in b.on_enter]:
            yield (f"step {name}: on-enter actions changed", None, None)


def _routes(action: m.ActionSpec) -> str:
    return "; ".join(f"{b.to} if {b.if_.source}" if b.if_ is not None else b.to
                     for b in action.branches)


def _alert(old: m.AlertSpec, new: m.AlertSpec) -> Iterable[tuple]:
    if old.on != new.on:
        yield ("trigger changed", None, None)
    if _src(old.if_) != _src(new.if_):
        yield (f"condition {_src(old.if_)} → {_src(new.if_)}", None, None)
    if old.notify != new.notify:
        yield ("notification changed", None, None)
    if old.create != new.create:
        yield ("raised record changed", None, None)


def _report(old: m.ReportSpec, new: m.ReportSpec) -> Iterable[tuple]:
    for what in ("source", "lines", "group_by", "measures", "columns", "filter", "where",
                 "having", "chart", "tiles", "permissions"):
        if getattr(old, what) != getattr(new, what):
            yield (f"{what.replace('_', ' ')} changed", None, None)
