"""Name environments for type-checking expressions against forms."""
from __future__ import annotations

from typing import Mapping

from ..expr import Env
from ..expr import types as T
from ..fields import expr_type_of
from .loaded import Definitions

SYSTEM_FIELDS: Mapping[str, T.Type] = {
    "id": T.t(T.INTEGER), "number": T.t(T.TEXT), "state": T.t(T.TEXT), "owner": T.t(T.USER),
    "created_at": T.t(T.DATETIME), "updated_at": T.t(T.DATETIME),
}


def form_types(defs: Definitions, field_types, form_id: str) -> dict[str, T.Type]:
    """Field name → expression type for one form, system fields included."""
    form = defs.forms[form_id]
    names = dict(SYSTEM_FIELDS)
    wf = defs.workflow_for(form_id)
    if wf is not None:
        names["state"] = T.Type(T.TEXT, options=tuple(wf.steps))
    for f in form.fields:
        names[f.name] = expr_type_of(f, field_types)
    return names


def all_form_types(defs: Definitions, field_types) -> dict[str, dict[str, T.Type]]:
    """Field types per form, and per `FORM.TABLE` what a link to one of its lines reaches."""
    out = {fid: form_types(defs, field_types, fid) for fid in defs.forms}
    for fid in defs.forms:
        out.update(T.line_types(fid, out[fid]))
    return out


def form_env(defs: Definitions, field_types, form_id: str, extra: Mapping[str, T.Type] | None = None,
             forms: Mapping[str, Mapping[str, T.Type]] | None = None) -> Env:
    """The environment of an expression evaluated on a record of `form_id`.

    Bare names are the record's fields; `user` is the acting user; `extra`
    adds `line`, `target` or report parameters where they exist.
    """
    forms = forms if forms is not None else all_form_types(defs, field_types)
    names = dict(forms.get(form_id, {}))
    names["user"] = T.t(T.USER)
    if extra:
        names.update(extra)
    return Env(names=names, forms=forms)


def target_line(form_types: Mapping[str, Mapping[str, T.Type]], form: str, table: str) -> T.Type:
    """The type of `target` in a line update: a row of `form`'s `table`, whose `record`
    (unless a cell has that name) is the record the line belongs to."""
    fields = dict(form_types[form][table].item.field_map())
    fields.setdefault("record", T.link(form))
    return T.row(fields)
