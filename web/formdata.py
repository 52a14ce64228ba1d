"""HTML form posts ↔ record data, and the widget model templates render.

Inputs are named `f.<field>` and `f.<table>.<row>.<cell>`; posted text goes to
the engine as typed (the field types parse it), so what the user typed is what
the engine validates, and what we show again beside an error.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from .views.common import label, option_label

ROW_RE = re.compile(r"^f\.(\w+)\.(\d{1,4})\.(\w+)$")
MAX_ROWS = 1000


def parse_post(form_spec, post) -> dict:
    """request.form → the `data` dict the engine takes (text values, rows as lists)."""
    data: dict[str, Any] = {}
    rows: dict[str, dict[int, dict]] = {}
    for key in post.keys():
        m = ROW_RE.match(key)
        if m:
            table, i, cell = m.group(1), int(m.group(2)), m.group(3)
            tf = form_spec.field(table)
            if tf is None or not tf.is_table or tf.field(cell) is None or i >= MAX_ROWS:
                continue
            cf = tf.field(cell)
            value = post.getlist(key) if cf.type == "multichoice" else post.get(key)
            rows.setdefault(table, {}).setdefault(i, {})[cell] = value
    for f in form_spec.fields:
        if f.is_table:
            if f.compute is not None or f.readonly:
                continue
            present = rows.get(f.name, {})
            out = []
            for i in sorted(present):
                row = {k: v for k, v in present[i].items()
                       if (c := f.field(k)) is not None and c.compute is None and not c.readonly}
                if any(v not in ("", None, []) for v in row.values()):
                    out.append(row)
            data[f.name] = out
            continue
        if f.compute is not None or f.readonly:
            continue
        key = f"f.{f.name}"
        if f.type == "boolean":
            data[f.name] = "true" if post.get(key) else "false"
        elif f.type == "multichoice":
            data[f.name] = post.getlist(key)
        elif key in post:
            data[f.name] = post.get(key)
    return data


def text_of(ftype, spec, value) -> Any:
    """A Python field value → what an input shows (text, or a list for multichoice)."""
    if value is None:
        return [] if spec.type == "multichoice" else ""
    if spec.type == "multichoice":
        return list(value)
    if spec.type == "boolean":
        return "true" if value else ""
    if spec.type == "datetime" and hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%dT%H:%M")
    dumped = ftype.dump(spec, value) if ftype is not None else value
    if isinstance(dumped, dict):
        return dumped.get("name", "")
    return "" if dumped is None else str(dumped)


def texts_of(eng, form_spec, values: Mapping) -> dict:
    """Record values → {field: text, table: [{cell: text}]} for rendering."""
    reg = eng.registries.field_types
    out: dict[str, Any] = {}
    for f in form_spec.fields:
        v = values.get(f.name)
        if f.is_table:
            out[f.name] = [{c.name: text_of(reg.get(c.type), c, (r or {}).get(c.name)) for c in f.fields}
                           for r in (v or [])]
        else:
            out[f.name] = text_of(reg.get(f.type), f, v)
    return out


def texts_from_post(form_spec, data: Mapping) -> dict:
    """Posted data (already text) → the same shape as texts_of, for re-rendering."""
    out: dict[str, Any] = {}
    for f in form_spec.fields:
        v = data.get(f.name)
        if f.is_table:
            out[f.name] = [{c.name: r.get(c.name, "") for c in f.fields} for r in (v or [])]
        elif f.type == "boolean":
            out[f.name] = "true" if v == "true" else ""
        else:
            out[f.name] = v if v is not None else ("" if f.type != "multichoice" else [])
    return out


def dom_id(path: str) -> str:
    """The id of a field's input on the form page: `lines[2].qty` → `f-lines-2-qty`."""
    return "f-" + path.replace("[", "-").replace("].", "-").replace(".", "-").replace("]", "")


def widget(eng, f, text, errors: Mapping, path: str, hidden: bool = False, link_titles=None) -> dict:
    ftype = eng.registries.field_types.get(f.type)
    w = {
        "name": f.name, "path": path, "input": "f." + path.replace("[", ".").replace("]", ""),
        "id": dom_id(path),
        "type": f.type, "widget": getattr(ftype, "widget", "text"), "label": label(f.label, f.name),
        "required": f.required, "value": text, "error": errors.get(path),
        "readonly": f.compute is not None or f.readonly, "hidden": hidden,
        "help": label(f.help) if f.help else "",
        "min": f.min, "max": f.max,
    }
    if f.options:
        w["options"] = [(o, option_label(f, o)) for o in f.options]
    if f.type == "link":
        w["to"] = f.to
        w["link_title"] = (link_titles or {}).get((f.to, str(text))) if text else ""
    return w


def widgets(eng, user, form_spec, texts: Mapping, errors: Mapping, visible: set | None,
            link_titles: Mapping | None = None) -> list:
    """One widget per field in form order; tables carry `rows` of cell widgets and a blank template row."""
    out = []
    for f in form_spec.fields:
        hidden = visible is not None and f.name not in visible
        if f.is_table:
            rows = []
            for i, row in enumerate(texts.get(f.name) or []):
                rows.append([widget(eng, c, row.get(c.name, ""), errors, f"{f.name}[{i}].{c.name}",
                                    link_titles=link_titles) for c in f.fields])
            template = [widget(eng, c, "", {}, f"{f.name}[__i__].{c.name}") for c in f.fields]
            w = widget(eng, f, "", errors, f.name, hidden)
            w.update(rows=rows, template=template, columns=[label(c.label, c.name) for c in f.fields],
                     cell_errors=[e for k, e in errors.items() if k.startswith(f.name + "[")])
            out.append(w)
        else:
            out.append(widget(eng, f, texts.get(f.name, ""), errors, f.name, hidden, link_titles))
    return out


def link_titles_for(eng, user, form_spec, texts: Mapping) -> dict:
    """{(form, id): title} for every link value shown, read as the user (unreadable → '#id')."""
    wanted: set[tuple[str, str]] = set()
    for f in form_spec.fields:
        if f.type == "link" and texts.get(f.name):
            wanted.add((f.to, str(texts[f.name])))
        if f.is_table:
            for c in f.fields:
                if c.type == "link":
                    for row in texts.get(f.name) or []:
                        if row.get(c.name):
                            wanted.add((c.to, str(row[c.name])))
    out = {}
    for form, rid in wanted:
        out[(form, rid)] = record_title(eng, user, form, rid)
    return out


def record_title(eng, user, form: str, rid) -> str:
    from engine.errors import LoomError

    try:
        rec = eng.get(user, form, int(rid))
    except (LoomError, ValueError):
        return f"#{rid}"
    return title_of(eng, rec)


def title_of(eng, rec) -> str:
    spec = eng.defs.forms[rec.form]
    if spec.title_field:
        if spec.title_field == "number":
            return rec.number or f"#{rec.id}"
        v = rec.data.get(spec.title_field)
        if v not in (None, ""):
            return str(v)
    return rec.number or f"#{rec.id}"


def display(eng, f, value) -> str:
    """A stored value as text for record pages and lists (not for inputs)."""
    if value is None or value == "" or value == []:
        return ""
    if f.type == "boolean":
        from .views.common import t

        return t("yes") if value else t("no")
    if f.type == "choice":
        return option_label(f, value)
    if f.type == "multichoice":
        return ", ".join(option_label(f, v) for v in value)
    if f.type == "percent":
        return text_of(eng.registries.field_types.get(f.type), f, value) + "%"
    if f.type == "datetime" and hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(text_of(eng.registries.field_types.get(f.type), f, value))
