"""Who may see and change which field, and when: the one place field permissions are decided.

A field's `read`/`edit` lists (roles, or `owner` for the record's owner; empty:
whoever may read / edit the record) and a step's `edit` (a list: those roles
edit every field; a map `{role: [field, ...]}`: each role edits only its
fields) are combined here. Everything that shows or takes field values asks
this module: record JSON and history (RecordService), lists, filters and sorts,
reports, exports, imports (they create through the same checks), form pages,
notification templates, the OpenAPI document and `loom access`.

Admins (`user.is_admin`) see and change every field. Where no record is at hand
(a filter over many rows, a report), `owner` grants nothing: a field readable
only by owners cannot be filtered or grouped on.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Mapping

from ..errors import PermissionDenied, ValidationFailed
from . import Record

OWNER = "owner"


@dataclass(frozen=True)
class StepGrant:
    """What a step lets one user edit: every field, some fields, or nothing (locked)."""

    every: bool = False
    fields: frozenset = frozenset()

    @property
    def locked(self) -> bool:
        return not self.every and not self.fields


EVERY = StepGrant(every=True)
LOCKED = StepGrant()


class FieldAccess:
    """Field read/edit rules of one set of loaded definitions."""

    def __init__(self, defs):
        self.defs = defs
        # hidden() per (form, roles, owns the record): a list page asks it per record and
        # per field; the answer depends on nothing else, and these definitions never change
        self._hidden: dict[tuple, frozenset[str]] = {}

    # --- who is who ---------------------------------------------------------------

    def roles(self, user) -> frozenset:
        """The user's roles, with the roles they include (app.yaml `include`)."""
        expand = getattr(self.defs.app, "expand_roles", None)  # role groups (h/records14)
        return expand(user.roles) if callable(expand) else frozenset(user.roles)

    def named(self, user, who: Iterable[str], owner: str | None) -> bool:
        """Whether `user` is one of `who` (role names, or `owner` when they own the record)."""
        roles = self.roles(user)
        return any((w == OWNER and owner is not None and owner == user.name) or w in roles
                   for w in who)

    # --- reading ------------------------------------------------------------------

    def may_read_field(self, user, field, owner: str | None = None) -> bool:
        return user.is_admin or not field.read or self.named(user, field.read, owner)

    def hidden(self, user, form_id: str, owner: str | None = None) -> frozenset[str]:
        """The fields of `form_id` that `user` may not see (on a record `owner` owns)."""
        if user.is_admin:
            return frozenset()
        key = (form_id, frozenset(user.roles), owner is not None and owner == user.name)
        try:
            return self._hidden[key]
        except KeyError:
            pass
        form = self.defs.form(form_id)
        hidden = frozenset(f.name for f in form.fields if not self.may_read_field(user, f, owner))
        if len(self._hidden) > 4096:  # many role sets: start over rather than grow
            self._hidden.clear()
        self._hidden[key] = hidden
        return hidden

    def readable(self, user, form_id: str, owner: str | None = None) -> tuple[str, ...]:
        hidden = self.hidden(user, form_id, owner)
        return tuple(n for n in self.defs.form(form_id).field_names if n not in hidden)

    def redact(self, user, rec: Record) -> Record:
        """The record without the fields `user` may not see."""
        hidden = self.hidden(user, rec.form, rec.owner)
        if not hidden:
            return rec
        return replace(rec, data={k: v for k, v in rec.data.items() if k not in hidden},
                       json_data={k: v for k, v in rec.json_data.items() if k not in hidden})

    def redact_diff(self, user, form_id: str, owner: str | None, diff: Mapping | None):
        hidden = self.hidden(user, form_id, owner)
        if not diff or not hidden:
            return diff
        return {k: v for k, v in diff.items() if k not in hidden}

    def check_paths(self, user, form_id: str, paths: Iterable[tuple], what: str,
                    table: str | None = None) -> None:
        """PermissionDenied (reason `field_not_readable`) when an expression `user` runs
        (a filter, a sort, a report) names a field they may not see, here or through links."""
        if user.is_admin:
            return
        for path in paths:
            blocked = self._blocked(user, form_id, table, path)
            if blocked is not None:
                form, field = blocked
                title = self.defs.form(form).title.get(user.language)
                label = field.label.get(user.language)
                name = ".".join(path)
                raise PermissionDenied(
                    f"you may not see the field {label} of {title}, so {what} cannot use "
                    f"{name!r}", reason="field_not_readable", fields={name: "you may not see this field"})

    def _blocked(self, user, form_id: str, table: str | None, path: tuple):
        """(form, field) of the first field on `path` that `user` may not see, or None."""
        defs = self.defs
        form = defs.forms.get(form_id)
        cells = None
        if table is not None and form is not None and form.field(table) is not None:
            cells = form.field(table)
            if not self.may_read_field(user, cells):
                return form.id, cells
        for i, part in enumerate(path):
            if form is None:
                return None
            f = cells.field(part) if cells is not None else None
            if f is None:
                if i == 0 and part == "parent" and cells is not None:
                    cells = None
                    continue
                f = form.field(part) if (cells is None or i == 0) else None
                if f is None:
                    return None
                if not self.may_read_field(user, f):
                    return form.id, f
            cells = None
            if f.is_table:
                cells = f
            elif f.to:
                form = defs.forms.get(f.to)
            else:
                return None
        return None

    # --- editing ------------------------------------------------------------------

    def may_edit_field(self, user, field, owner: str | None) -> bool:
        """The field's own `edit` and `read` lists (the step decides the rest)."""
        if user.is_admin:
            return True
        if field.readonly:
            return False
        return (not field.edit or self.named(user, field.edit, owner)) and \
            self.may_read_field(user, field, owner)

    def grant(self, user, form_id: str, state: str | None, owner: str | None) -> StepGrant:
        """What `user` may edit of a record in `state` owned by `owner`: the step's `edit`
        under a workflow, else the form's `update` roles (empty: everyone); admins all."""
        if user.is_admin:
            return EVERY
        wf = self.defs.workflow_for(form_id)
        if wf is None:
            update = self.defs.form(form_id).permissions.update
            return EVERY if not update or self.named(user, update, owner) else LOCKED
        step = wf.step(state)
        if step is None:
            return LOCKED
        return self.step_grant(user, step, owner)

    def step_grant(self, user, step, owner: str | None) -> StepGrant:
        mapped = dict(step.edit_fields)
        every, fields = False, set()
        for who in step.edit:
            if self.named(user, (who,), owner):
                if who in mapped:
                    fields.update(mapped[who])
                else:
                    every = True
        return EVERY if every else StepGrant(fields=frozenset(fields))

    def editable(self, user, form_id: str, rec: Record | None = None) -> tuple[str, ...]:
        """The fields `user` may change: on `rec` in its step, or (None) on a new record,
        which its creator will own (a start step's `edit` map restricts it too)."""
        form = self.defs.form(form_id)
        if rec is None:
            owner = user.name
            wf = self.defs.workflow_for(form_id)
            step = wf.step(wf.start) if wf is not None else None
            grant = self.step_grant(user, step, owner) \
                if step is not None and step.edit_fields and not user.is_admin else EVERY
        else:
            owner = rec.owner
            grant = self.grant(user, form_id, rec.state, owner)
        return tuple(f.name for f in form.fields
                     if (grant.every or f.name in grant.fields)
                     and self.may_edit_field(user, f, owner))

    def check_write(self, user, form_id: str, changed: Iterable[str], rec: Record | None) -> None:
        """Refuse changing fields `user` may not change; `changed` are the fields the input
        would change. One such field: 403 naming it; several: 422 listing each. A read-only
        field: 422 naming it."""
        changed = list(changed)
        if not changed or user.is_admin:
            return
        form = self.defs.form(form_id)
        readonly = {n: "is read-only" for n in changed
                    if form.field(n) is not None and form.field(n).readonly}
        if readonly:
            raise ValidationFailed(readonly, f"read-only: {', '.join(readonly)}",
                                   reason="readonly_field")
        allowed = set(self.editable(user, form_id, rec))
        refused = [n for n in changed if n not in allowed]
        if not refused:
            return
        step = f" in step {rec.state}" if rec is not None and rec.state else ""
        fields = {n: f"you may not change this field{step}" for n in refused}
        if len(refused) == 1:
            f = form.field(refused[0])
            label = f.label.get(user.language) if f is not None else refused[0]
            raise PermissionDenied(f"you may not change {label} ({refused[0]}){step}",
                                   reason="field_not_editable", fields=fields)
        raise ValidationFailed(fields, f"you may not change {', '.join(refused)}{step}",
                               reason="fields_not_editable")

    def delete_rule(self, form_id: str, state: str | None) -> tuple[str, ...] | None:
        """Who may delete a record in `state` (roles, `owner`), or None when the step allows
        no deleting: a step's `delete` list where it has one, else the form's
        `permissions.delete` in the workflow's start step only (always, without a workflow)."""
        form = self.defs.form(form_id)
        wf = self.defs.workflow_for(form_id)
        if wf is None:
            return form.permissions.delete
        step = wf.step(state)
        if step is None:
            return None
        if getattr(step, "delete", None) is not None:
            return step.delete or None
        return form.permissions.delete if state == wf.start else None

    def must_edit(self, user, rec: Record) -> None:
        """PermissionDenied (reason `step_locked`) unless the step lets `user` change something."""
        if self.grant(user, rec.form, rec.state, rec.owner).locked:
            where = f"in step {rec.state}" if rec.state else "now"
            raise PermissionDenied(f"this record is read-only for you {where}; changes go "
                                   "through a workflow action", reason="step_locked")
