"""Who may do what: role × form × create/read/update/delete × fields × step actions.

Computed from the definitions through the same FieldAccess the API enforces
with, for a user holding one role (and the roles it includes), and for `owner`:
the record's owner holding no role at all. `loom access`, the admin page and
the permission matrix test read it; nothing here decides a permission itself.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..errors import NotFound
from . import Record
from .access import OWNER, FieldAccess

# Actions every approval step gives its approvers, and the owner's way back (DESIGN.md).
APPROVER_ACTIONS = ("transfer", "add_signer", "comment", "cc")
OWNER_ACTIONS = ("withdraw",)
_WHO = "someone else"  # the owner of the sampled record when the role is not the owner
_EPOCH = datetime(2000, 1, 1)


@dataclass(frozen=True)
class _Holder:
    """A user holding exactly one role (duck-types engine.auth.users.User for FieldAccess)."""

    name: str
    roles: frozenset = field(default_factory=frozenset)
    is_admin: bool = False
    language: str = "en"


def access_matrix(defs, access: FieldAccess, role: str | None = None,
                  form: str | None = None) -> list[dict]:
    """One entry per form and role (app roles, then `owner`), in definition order."""
    roles = [r.name for r in defs.app.roles] + [OWNER]
    if role is not None:
        if role not in roles:
            raise NotFound(f"no role {role!r}; the roles are {', '.join(roles)}")
        roles = [role]
    forms = [defs.form(form)] if form is not None else list(defs.forms.values())
    return [_entry(defs, access, f, r) for f in forms for r in roles]


def _entry(defs, access: FieldAccess, form, role: str) -> dict:
    owner = role == OWNER
    user = _Holder(OWNER if owner else f"{role}_user", frozenset() if owner else frozenset({role}))
    record_owner = user.name if owner else _WHO
    perms = form.permissions

    def named(who) -> bool:
        return access.named(user, who, record_owner)

    def deletable(state) -> bool:
        who = access.delete_rule(form.id, state)
        return who is not None and named(who)

    wf = defs.workflow_for(form.id)
    steps = {}
    if wf is not None:
        for name, step in wf.steps.items():
            rec = _record(form.id, name, record_owner)
            steps[name] = {"edit": list(access.editable(user, form.id, rec)),
                           "delete": deletable(name),
                           "actions": _actions(access, user, record_owner, step, form)}
        update = any(s["edit"] for s in steps.values())
        delete = any(s["delete"] for s in steps.values())
    else:
        update = bool(access.editable(user, form.id, _record(form.id, None, record_owner)))
        delete = deletable(None)
    read = owner or not perms.read or named(perms.read)
    create = not owner and (not perms.create or named(perms.create))
    return {
        "form": form.id, "role": role,
        "create": create, "read": read, "update": update,
        "delete": delete,
        "rows": perms.rows.source if perms.rows is not None and not owner else None,
        "fields": {
            "read": list(access.readable(user, form.id, record_owner)) if read else [],
            "edit": [f.name for f in form.fields if access.may_edit_field(user, f, record_owner)
                     and update],
            "create": list(access.editable(user, form.id, None)) if create else [],
        },
        "steps": steps,
    }


def _record(form_id: str, state: str | None, owner: str) -> Record:
    return Record(0, form_id, None, state, 1, owner, {}, _EPOCH, _EPOCH)


def _actions(access: FieldAccess, user, owner: str, step, form) -> list[str]:
    """The actions `user` could take in `step`, by role (conditions and tasks aside; the
    owner's manager may also hand a record over, which no role says)."""
    approver = step.approvers is not None and step.approvers.role is not None and \
        access.named(user, (step.approvers.role,), owner)
    out = []
    for name, spec in step.actions.items():
        if spec.by:
            ok = access.named(user, spec.by, owner)
        elif step.is_approval:
            ok = approver
        else:
            ok = access.named(user, step.edit or (OWNER,), owner)
        if ok:
            out.append(name)
    if approver:
        out += [a for a in APPROVER_ACTIONS if a not in out]
    if step.is_approval and user.name == owner:
        out += list(OWNER_ACTIONS)
    reassign = getattr(form.permissions, "reassign", ())
    if not step.final and (user.name == owner or access.named(user, reassign, owner)):
        out.append("reassign")
    return out
