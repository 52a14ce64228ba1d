"""Semantic checks of links to lines (`to: FORM.TABLE`, `within`) and of `make_from`.

A line link must name a table of an existing form; `within` must name a link
field to that form in the same record or row. `make_from` must name existing
forms and tables, and its values must fit the fields they fill: bare names are
the source record's fields, `line` the source row (`line` alone, for a link to
the source table, is that row's id).
"""
from __future__ import annotations

from ..expr import nodes as n
from ..expr import types as T
from .semantics import (
    E_FIELD_KIND, E_LINE_TO, E_MAKE_FROM, E_MAKE_FROM_FIELD, E_MAKE_FROM_TYPE, E_WITHIN,
    Context, assignable,
)
from .suggest import suggestion_suffix


def check(ctx: Context) -> None:
    for fid, doc in ctx.docs.get("form", {}).items():
        form = ctx.defs.forms.get(fid)
        if form is None:
            continue
        for i, f in enumerate(form.fields):
            path = ("fields", i)
            check_line_link(ctx, doc, path, f, form.fields)
            for j, c in enumerate(f.fields if f.is_table else ()):
                check_line_link(ctx, doc, path + ("fields", j), c, f.fields + form.fields)
        for entry in form.make_from:
            check_make_from(ctx, doc, form, entry)


def check_line_link(ctx: Context, doc, path: tuple, f, siblings) -> None:
    """`to: FORM.TABLE` names a table of a form; `within` a link to FORM beside the field."""
    if f.type != "line_link":
        if f.within is not None:
            ctx.add(doc, path + ("within",), f"within: only a link to lines (to: FORM.TABLE) "
                    f"is limited to a record's lines; {f.name!r} is a {f.type} field"
                    f"{' to whole records' if f.type == 'link' else ''}", E_WITHIN)
        return
    form_id, _, table = (f.to or "").partition(".")
    if not ctx.check_form_ref(doc, path + ("to",), form_id, "form"):
        return
    tables = [t.name for t in ctx.defs.forms[form_id].tables]
    if table not in tables:
        hint = suggestion_suffix(table, tables) or (
            f"; its tables are {', '.join(tables)}" if tables else f"; {form_id} has no tables")
        ctx.add(doc, path + ("to",), f"link to {f.to!r}: form {form_id!r} has no table "
                f"{table!r}{hint}", E_LINE_TO)
        return
    if f.within is None:
        return
    other = next((s for s in siblings if s.name == f.within), None)
    if other is None or other.type != "link" or other.to != form_id:
        links = [s.name for s in siblings if s.type == "link" and s.to == form_id]
        what = "no field" if other is None else f"a {other.type} field"
        if other is not None and other.type == "link":
            what = f"a link to {other.to}"
        hint = (f"; {', '.join(links)} links to {form_id}" if links
                else f"; add a field {{type: link, to: {form_id}}} for it")
        ctx.add(doc, path + ("within",), f"within: {f.within!r} is {what}, not a link to "
                f"{form_id} (the form whose lines {f.name!r} picks){hint}", E_WITHIN)


def check_make_from(ctx: Context, doc, form, entry) -> None:
    """Sources, tables and fields exist; every value fits its field."""
    base = ("make_from", entry.form)
    if entry.form not in ctx.defs.forms:
        ctx.add(doc, base, f"make_from: unknown form {entry.form!r}"
                f"{suggestion_suffix(entry.form, ctx.defs.forms)}", E_MAKE_FROM, key=True)
        return
    source = ctx.defs.forms[entry.form]
    env = ctx.env(entry.form)
    if entry.if_ is not None:
        ctx.check_condition(doc, base + ("if",), entry.if_, env, "if")
    types = ctx.form_types[form.id]
    check_values(ctx, doc, base + ("values",), entry.values, form.fields, types, env,
                 form.id, entry.form, None)
    lines = entry.lines
    if lines is None:
        return
    p = base + ("lines",)
    own_tables = [t.name for t in form.tables]
    table = form.field(lines.table)
    if table is None or not table.is_table:
        ctx.add(doc, p + ("table",), f"make_from lines: {lines.table!r} is not a table of "
                f"{form.id}{suggestion_suffix(lines.table, own_tables)}", E_MAKE_FROM)
        return
    source_tables = [t.name for t in source.tables]
    if lines.from_ not in source_tables:
        ctx.add(doc, p + ("from",), f"make_from lines: {lines.from_!r} is not a table of "
                f"{entry.form}{suggestion_suffix(lines.from_, source_tables)}", E_MAKE_FROM)
        return
    row = ctx.form_types[entry.form][lines.from_].item
    row_env = ctx.env(entry.form, extra={"line": row})
    if lines.if_ is not None:
        ctx.check_condition(doc, p + ("if",), lines.if_, row_env, "if")
    check_values(ctx, doc, p + ("values",), lines.values, table.fields,
                 types[lines.table].item.field_map(), row_env, f"{form.id}.{lines.table}",
                 entry.form, f"{entry.form}.{lines.from_}")


def check_values(ctx: Context, doc, path: tuple, values, fields, types, env, where: str,
                 source: str, row_target: str | None) -> None:
    names = [f.name for f in fields]
    for key, value in values:
        f = next((x for x in fields if x.name == key), None)
        if f is None or f.is_table:
            what = "has no field" if f is None else "fills tables with lines:, not"
            ctx.add(doc, path + (key,), f"make_from values: {where} {what} {key!r}"
                    f"{suggestion_suffix(key, names) if f is None else ''}", E_MAKE_FROM_FIELD,
                    key=True)
            continue
        if value is None or not value.is_expr:
            ctx.check_value(doc, path + (key,), value, env, types.get(key), f"field {key!r}")
            continue
        if f.type == "line_link" and _is_bare_line(value.expr):
            if row_target is None or f.to != row_target:
                ctx.add(doc, path + (key,), f"make_from values: {key!r} links to lines of "
                        f"{f.to}, but `line` is a line of "
                        f"{row_target or 'nothing here (line exists only in lines: values)'}",
                        E_MAKE_FROM_TYPE)
            continue
        t = ctx.check_expr(doc, path + (key,), value.expr, env)
        target = types.get(key)
        if t is None or target is None or assignable(target, t):
            continue
        code = E_FIELD_KIND if t.kind in (T.TABLE,) else E_MAKE_FROM_TYPE
        ctx.add(doc, path + (key,), f"make_from values: field {key!r} is {target}, but "
                f"this value is {t}", code)


def _is_bare_line(expr) -> bool:
    tree = getattr(expr, "tree", None)
    return isinstance(tree, n.Path) and tuple(tree.parts) == ("line",)


__all__ = ["check", "check_line_link", "check_make_from"]
