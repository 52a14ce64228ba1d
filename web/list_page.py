"""A form's list page: the columns its definition names (`list:`), search over the title and
linked records' titles, state and link filters, sort by any shown column, money totals.

Everything that narrows or sorts the list is one expression the engine compiles to
SQL (`Engine.list`), so it runs over every record, not over the page shown; totals are
SUMs in the same query as the count. Link titles of a page are fetched in one query
per linked form.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.errors import LoomError

from . import formdata as fd
from .views.common import label, t

SYSTEM_COLUMNS = ("number", "state", "owner", "created_at", "updated_at")
MAX_QUERY = 100
NUMERIC = ("integer", "decimal", "money", "percent")


def lit(text: str) -> str:
    """A user's text as a string literal of the expression language: data, never code."""
    return repr(str(text))


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    field: Any = None  # FieldSpec for a form field, None for a system column
    sort: str | None = None  # what `order` names to sort by this column
    numeric: bool = False
    total: bool = False  # money: summed over every matching record (up to SUMS_AHEAD past the page)


def columns(eng, spec, wf) -> list[Column]:
    """The list's columns: `list:` when the form names them, else title, state, indexed fields,
    owner and last change."""
    names = list(spec.list_columns)
    if not names:
        names = [spec.title_field or "number"] + (["state"] if wf else []) + \
            [n for n in spec.indexes if n != spec.title_field] + ["owner", "updated_at"]
    out = []
    for n in names:
        if n in SYSTEM_COLUMNS and spec.field(n) is None:
            if n == "state" and wf is None:
                continue
            out.append(Column(n, t(n if n != "updated_at" else "updated") if n != "created_at" else t("created"),
                              sort=n))
            continue
        f = spec.field(n)
        if f is None or f.is_table:
            continue
        ftype = fd.field_type(eng, f)
        sort = n
        to = ftype.link_form(f)
        if to is not None:  # sort a link by the linked record's title, in SQL (a JOIN)
            target = eng.defs.forms.get(to)
            sort = f"{n}.{target.title_field}" if target is not None and target.title_field else n
        elif not ftype.typed:
            sort = None
        out.append(Column(n, label(f.label, n), f, sort, f.type in NUMERIC, f.type == "money"))
    return out


def search_expr(eng, spec, cols, q: str) -> str:
    """`q` in the title, the number, or the title of any linked record shown or indexed."""
    q = lit(q.lower())
    paths = [spec.title_field or "number"]
    if spec.number and "number" not in paths:
        paths.append("number")
    links = [c.field for c in cols if c.field is not None] + \
        [spec.field(n) for n in spec.indexes if spec.field(n) is not None]
    for f in links:
        to = fd.field_type(eng, f).link_form(f)
        target = eng.defs.forms.get(to) if to else None
        if target is not None and target.title_field:
            path = f"{f.name}.{target.title_field}"
            if path not in paths:
                paths.append(path)
    return "(" + " or ".join(f"contains(lower({p}), {q})" for p in paths) + ")"


def filter_fields(eng, spec, cols) -> list:
    """Indexed fields, and shown link and choice fields, whose type offers a list filter."""
    names = list(spec.indexes) + [c.name for c in cols if c.field is not None and
                                  fd.field_type(eng, c.field).filter_input in ("link", "option")]
    out, seen = [], set()
    for n in names:
        f = spec.field(n)
        if f is None or n in seen or fd.field_type(eng, f).filter_input is None:
            continue
        seen.add(n)
        out.append(f)
    return out


def filters(eng, spec, wf, cols, args) -> tuple[list[str], dict]:
    """Expression parts for the search box, the state and the field filters, and what was asked."""
    parts, asked = [], {}
    q = (args.get("q") or "").strip()[:MAX_QUERY]
    if q:
        asked["q"] = q
        parts.append(search_expr(eng, spec, cols, q))
    state = (args.get("x.state") or "").strip()
    if wf is not None and state in wf.steps:
        asked["x.state"] = state
        parts.append(f"state == {lit(state)}")
    for f in filter_fields(eng, spec, cols):
        more, used = fd.field_type(eng, f).list_filter(f, args)
        parts += more
        asked.update(used)
    return parts, asked


def link_titles(eng, user, cols, records) -> dict:
    """{(form, id): title} for every link shown on the page: one query per linked form."""
    wanted: dict[str, set] = {}
    for c in cols:
        if c.field is None:
            continue
        for r in records:
            target = fd.field_type(eng, c.field).link_of(c.field, r.data.get(c.name))
            if target is not None and target[1].isdigit():
                wanted.setdefault(target[0], set()).add(int(target[1]))
    out = {}
    for form, ids in wanted.items():
        try:
            page = eng.list(user, form, filter=f"id in {sorted(ids)!r}", limit=len(ids))
        except LoomError:
            continue
        for rec in page.items:
            out[(form, str(rec.id))] = fd.title_of(eng, rec)
    return out


def state_tone(wf, state: str | None) -> str:
    """A badge colour for a workflow state, from the workflow's shape: the start step (draft),
    an approval step (waiting), a final step reached by rejecting or cancelling (bad), any
    other final step (done), or in progress."""
    if wf is None or not state:
        return "none"
    step = wf.step(state)
    if step is None:
        return "none"
    if state == wf.start:
        return "draft"
    if step.final or not step.actions:
        refused = any(a.name in ("reject", "cancel") and any(b.to == state for b in a.branches)
                      for s in wf.steps.values() for a in s.actions.values())
        return "bad" if refused else "done"
    if step.is_approval:
        return "wait"
    return "active"
