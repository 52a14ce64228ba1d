"""Labels for the values a report groups by: a workflow state or a choice field's option is
shown as its label (`Manager review`, `华北`), not its key (`manager_review`, `north`).

Only a group or listed column whose expression is a bare field path (`state`,
`client.region`, `line.item.category`) is labelled; anything computed stays as it is.
Exports keep the keys (they are data); the on-screen result and its chart use the labels.
"""
from __future__ import annotations

import re

from ..definitions import model as m

_PATH = re.compile(r"^\s*[A-Za-z_]\w*(\.[A-Za-z_]\w*)*\s*$")


def _target(defs, spec: m.ReportSpec, path: tuple[str, ...]):
    """(form id, field spec or None for `state`) the path ends at, or None."""
    form = defs.forms.get(spec.source or "")
    if form is None:
        return None
    fields = form.fields
    table = form.field(spec.lines) if spec.lines else None
    if table is not None:
        fields = table.fields
        if path and path[0] == "line":  # report over line items: `line.` is the row itself
            path = path[1:]
    for i, name in enumerate(path):
        f = next((x for x in fields if x.name == name), None)
        last = i == len(path) - 1
        if name == "state" and last and f is None:
            return form.id, None
        if f is None:
            return None
        if last:
            return form.id, f
        if f.type != "link" or f.to not in defs.forms:
            return None
        form = defs.forms[f.to]
        fields = form.fields
    return None


def value_labels(defs, spec: m.ReportSpec, language: str | None) -> dict[str, dict]:
    """{column name: {stored value: label}} for the columns that show states or options."""
    out = {}
    for col in tuple(spec.group_by) + tuple(spec.columns):
        if col.expr is None or not _PATH.match(col.expr.source):
            continue
        found = _target(defs, spec, tuple(col.expr.source.strip().split(".")))
        if found is None:
            continue
        form_id, f = found
        if f is None:
            wf = defs.workflow_for(form_id)
            if wf is not None:
                out[col.name] = {name: st.title.get(language) or name for name, st in wf.steps.items()}
        elif f.option_labels:
            out[col.name] = {opt: lbl.get(language) or opt for opt, lbl in f.option_labels}
    return out


def relabel(columns, rows: list[tuple], labels: dict[str, dict]) -> list[tuple]:
    if not labels:
        return rows
    maps = [labels.get(c.name) for c in columns]
    return [tuple(mp.get(v, v) if mp is not None and isinstance(v, str) else v
                  for mp, v in zip(maps, row)) for row in rows]
