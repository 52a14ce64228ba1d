"""HTML form posts ↔ record data, and the widget model templates render.

Inputs are named `f.<field>` and `f.<table>.<row>.<cell>`; posted text goes to
the engine as typed (the field types parse it), so what the user typed is what
the engine validates, and what we show again beside an error.
"""
from __future__ import annotations

import json
import re
from typing import Any, Mapping

from engine.errors import LoomError
from engine.fields import FieldType

from .views.common import engine, label, moment, msg, number, option_label, t

LINE_ID = "_id"  # a row's stable id (engine/forms/lines.py)
ROW_RE = re.compile(r"^f\.(\w+)\.(\d{1,4})\.(\w+)$")
MAX_ROWS = 1000

_PLAIN = FieldType()  # for a type no registry knows (the definition check reports it)


def field_type(eng, f) -> FieldType:
    """The registered type of field `f`: every per-type question goes to it."""
    return eng.registries.field_types.get(f.type) or _PLAIN


class WebLabels:
    """What `FieldType.display` needs, in the request's language; link titles looked up beforehand."""

    def __init__(self, titles: Mapping | None = None):
        self.titles = titles or {}

    def option(self, field, option):
        return option_label(field, option)

    def word(self, key):
        return t(key)

    def link_title(self, form, record_id):
        return self.titles.get((form, str(record_id)), f"#{record_id}")

    def number(self, value, places, money=False):
        return number(value, places, money)

    def moment(self, value):
        return moment(value)


def parse_post(form_spec, post, eng=None, only=None) -> dict:
    """request.form → the `data` dict the engine takes (text values, rows as lists).
    `only`: the fields the user may change (the page shows the others read-only, so
    they are not posted and must not read as cleared)."""
    eng = eng or engine()
    data: dict[str, Any] = {}
    rows: dict[str, dict[int, dict]] = {}
    for key in post.keys():
        m = ROW_RE.match(key)
        if m:
            table, i, cell = m.group(1), int(m.group(2)), m.group(3)
            tf = form_spec.field(table)
            if cell == LINE_ID and tf is not None and tf.is_table and i < MAX_ROWS:
                # the line's identity travels with the row (the engine checks it is this record's)
                rows.setdefault(table, {}).setdefault(i, {})[LINE_ID] = post.get(key) or None
                continue
            if tf is None or not tf.is_table or tf.field(cell) is None or i >= MAX_ROWS:
                continue
            value = field_type(eng, tf.field(cell)).from_form(tf.field(cell), post, key)
            rows.setdefault(table, {}).setdefault(i, {})[cell] = value
    for f in form_spec.fields:
        if only is not None and f.name not in only:
            continue
        if f.is_table:
            if f.compute is not None or f.readonly:
                continue
            present = rows.get(f.name, {})
            out = []
            for i in sorted(present):
                row = {k: v for k, v in present[i].items()
                       if (c := f.field(k)) is not None and c.compute is None and not c.readonly}
                if any(v not in ("", None, []) for v in row.values()):
                    if present[i].get(LINE_ID):
                        row[LINE_ID] = present[i][LINE_ID]
                    out.append(row)
            data[f.name] = out
            continue
        if f.compute is not None or f.readonly:
            continue
        value = field_type(eng, f).from_form(f, post, f"f.{f.name}")
        if value is not None:
            data[f.name] = value
    return data


def text_of(ftype, spec, value) -> Any:
    """A Python field value → what an input shows (text, or a list for multichoice)."""
    return (ftype or _PLAIN).to_input(spec, value)


def texts_of(eng, form_spec, values: Mapping) -> dict:
    """Record values → {field: text, table: [{cell: text}]} for rendering."""
    out: dict[str, Any] = {}
    for f in form_spec.fields:
        v = values.get(f.name)
        if f.is_table:
            out[f.name] = [_with_id(r, {c.name: field_type(eng, c).to_input(c, (r or {}).get(c.name))
                                        for c in f.fields}) for r in (v or [])]
        else:
            out[f.name] = field_type(eng, f).to_input(f, v)
    return out


def texts_from_post(form_spec, data: Mapping, eng=None) -> dict:
    """Posted data (already text) → the same shape as texts_of, for re-rendering."""
    eng = eng or engine()
    out: dict[str, Any] = {}
    for f in form_spec.fields:
        v = data.get(f.name)
        if f.is_table:
            out[f.name] = [_with_id(r, {c.name: r.get(c.name, "") for c in f.fields}) for r in (v or [])]
        else:
            out[f.name] = field_type(eng, f).reshow(f, v)
    return out


def _with_id(row, texts: dict) -> dict:
    """A row's texts with its line id, which the form page sends back in a hidden input."""
    lid = (row or {}).get(LINE_ID)
    if lid:
        texts[LINE_ID] = lid
    return texts


def dom_id(path: str) -> str:
    """The id of a field's input on the form page: `lines[2].qty` → `f-lines-2-qty`."""
    return "f-" + path.replace("[", "-").replace("].", "-").replace(".", "-").replace("]", "")


def widget(eng, f, text, errors: Mapping, path: str, hidden: bool = False, link_titles=None) -> dict:
    ftype = field_type(eng, f)
    w = {
        "name": f.name, "path": path, "input": "f." + path.replace("[", ".").replace("]", ""),
        "id": dom_id(path),
        "type": f.type, "widget": ftype.widget, "label": label(f.label, f.name),
        "required": f.required, "value": text, "error": msg(errors.get(path)) or None,
        "readonly": f.compute is not None or f.readonly, "hidden": hidden,
        "help": label(f.help) if f.help else "",
        "min": f.min, "max": f.max, "preview": json.dumps(ftype.preview(f)),
    }
    if f.type == "file":  # uxpages
        w.update(multiple=f.multiple, accept=",".join(f.accept), upload="u." + w["input"][2:])
    if f.options:
        w["options"] = [(o, option_label(f, o)) for o in f.options]
    to = ftype.link_form(f)
    if to is not None:
        w["to"] = to
        w["link_title"] = (link_titles or {}).get(ftype.link_of(f, text)) if text else ""
    line = ftype.line_target(f)
    if line is not None:  # a line picker: options follow the `within` field's record
        w.update(widget="line", line_to=line, within=f.within or "",
                 link_title=(link_titles or {}).get(ftype.link_of(f, text)) if text else "")
    return w


def widgets(eng, user, form_spec, texts: Mapping, errors: Mapping, visible: set | None,
            link_titles: Mapping | None = None, *, shown=None, editable=None) -> list:
    """One widget per field in form order; tables carry `rows` of cell widgets and a blank template row.
    `shown`: the fields the user may see (others get no widget at all); `editable`: those they
    may change (others are read-only)."""
    out = []
    for f in form_spec.fields:
        if shown is not None and f.name not in shown:
            continue
        fixed = editable is not None and f.name not in editable
        hidden = visible is not None and f.name not in visible
        if f.is_table:
            rows = []
            for i, row in enumerate(texts.get(f.name) or []):
                rows.append([_within(widget(eng, c, row.get(c.name, ""), errors,
                                            f"{f.name}[{i}].{c.name}", link_titles=link_titles),
                                     row, texts, f"{f.name}[{i}].") for c in f.fields])
            template = [_within(widget(eng, c, "", {}, f"{f.name}[__i__].{c.name}"), {}, texts,
                                f"{f.name}[__i__].") for c in f.fields]
            w = widget(eng, f, "", errors, f.name, hidden)
            if fixed:  # a table the user may not change: every cell read-only, no new rows
                for cell in [c for row in rows for c in row]:
                    cell["readonly"] = True
                template = []
            w.update(rows=rows, template=template,
                     row_ids=[(row or {}).get(LINE_ID) or "" for row in texts.get(f.name) or []],
                     columns=[label(c.label, c.name) for c in f.fields],
                     cell_errors=[msg(e) for k, e in errors.items() if k.startswith(f.name + "[")],
                     readonly=fixed)
            out.append(w)
        else:
            w = _within(widget(eng, f, texts.get(f.name, ""), errors, f.name, hidden, link_titles),
                        {}, texts, "")
            if fixed:
                w["readonly"] = True
            if w["readonly"] and f.compute is None:  # read, not typed: shown as a value reads
                w["shown"] = _read_only_text(eng, f, w["value"], link_titles)
            out.append(w)
    return out


def _read_only_text(eng, f, text, link_titles=None) -> str:
    """A read-only field's input text as a person reads it (yes/no, ¥1,200.00, labels, titles)."""
    if text in (None, "", []):
        return ""
    ftype = field_type(eng, f)
    try:
        return ftype.display(f, ftype.parse(f, text), WebLabels(link_titles))
    except (ValueError, TypeError, LoomError):
        return text


def _within(w: dict, row: Mapping, texts: Mapping, prefix: str) -> dict:
    """A line picker's `within` field: the input that names its record (a cell of the same
    row, else a field of the record) and that record's id as the page shows it."""
    name = w.get("within")
    if name:
        own = name in row
        w["within_input"] = "f." + (prefix.replace("[", ".").replace("]", "") if own else "") + name
        w["within_value"] = str((row if own else texts).get(name) or "")
    return w


def link_titles_for(eng, user, form_spec, texts: Mapping) -> dict:
    """{(form, id): title} for every link value shown, read as the user (unreadable → '#id')."""
    wanted: set[tuple[str, str]] = set()
    for f in form_spec.fields:
        if f.is_table:
            for row in texts.get(f.name) or []:
                for c in f.fields:
                    if target := field_type(eng, c).link_of(c, row.get(c.name)):
                        wanted.add(target)
        elif target := field_type(eng, f).link_of(f, texts.get(f.name)):
            wanted.add(target)
    out = {}
    for form, rid in wanted:
        out[(form, rid)] = record_title(eng, user, form, rid)
    return out


def record_title(eng, user, form: str, rid) -> str:
    if "." in form:  # a line (FORM.TABLE): its readable title, `RQ-1 · Bolt × 10`
        return eng.line_title(user, form, str(rid)) or f"#{rid}"
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


def display(eng, f, value, labels: WebLabels | None = None) -> str:
    """A stored value as text for record pages and lists (not for inputs)."""
    return field_type(eng, f).display(f, value, labels or WebLabels())


def history_titles(eng, user, form_spec, diffs) -> WebLabels:
    """Labels that name every record or line the history's diffs link to by its title, read as
    `user` (what they may not read stays `#id`), so the history never shows bare ids."""
    wanted: set[tuple[str, str]] = set()

    def want(spec, stored):
        if stored not in (None, "", []) and (target := field_type(eng, spec).link_of(spec, stored)):
            wanted.add(target)

    for diff in diffs:
        for f, change in _changes(form_spec, diff):
            if not f.is_table:
                for v in change if isinstance(change, list) else ():
                    want(f, v)
                continue
            for row in list(change.get("added", ())) + list(change.get("removed", ())):
                for c in f.fields:
                    want(c, row.get(c.name))
            for line in change.get("changed", ()):
                for c in f.fields:
                    for v in line.get("fields", {}).get(c.name, ()):
                        want(c, v)
    return WebLabels({key: record_title(eng, user, *key) for key in wanted})


def _changes(form_spec, diff):
    """(field, change) in form order (PostgreSQL's JSONB keeps no key order)."""
    diff = diff or {}
    return [(f, diff[f.name]) for f in form_spec.fields if diff.get(f.name) is not None]


def history_changes(eng, form_spec, diff, labels: WebLabels | None = None) -> list[str]:
    """An event's diff as lines of text: `Field: old → new`; a table by line identity
    (`Lines · line 2 (Widget): Qty 3 → 4`, a line added, a line removed); links by the titles
    `labels` holds (see `history_titles`)."""
    out = []
    labels = labels or WebLabels()
    for f, change in _changes(form_spec, diff):
        head = label(f.label, f.name)
        if not f.is_table:
            if isinstance(change, list) and len(change) == 2:
                out.append(f"{head}: {_shown(eng, f, change[0], labels)} → {_shown(eng, f, change[1], labels)}")
            continue
        for row in change.get("added", ()):
            out.append(f"{head} · {t('line_added')}: {_line_text(eng, f, row, labels)}")
        for row in change.get("removed", ()):
            out.append(f"{head} · {t('line_removed')}: {_line_text(eng, f, row, labels)}")
        for c in change.get("changed", ()):
            parts = []
            cells = c.get("fields", {})
            for spec in f.fields:
                if spec.name in cells:
                    old, new = cells[spec.name]
                    parts.append(f"{label(spec.label, spec.name)} {_shown(eng, spec, old, labels)} → "
                                 f"{_shown(eng, spec, new, labels)}")
            out.append(f"{head} · {t('line_at').format(at=c.get('at'))}: {', '.join(parts)}")
        if change.get("moved"):
            out.append(f"{head} · {t('lines_moved')}")
    return out


def _line_text(eng, table_spec, row: Mapping, labels: WebLabels) -> str:
    return ", ".join(f"{label(c.label, c.name)} {_shown(eng, c, row.get(c.name), labels)}"
                     for c in table_spec.fields if row.get(c.name) not in (None, "", []))


def _shown(eng, spec, stored, labels: WebLabels) -> str:
    """A value as history stored it (JSON) → display text."""
    if stored is None or stored == "":
        return "—"
    ftype = field_type(eng, spec)
    try:
        return ftype.display(spec, ftype.load(spec, stored), labels) or str(stored)
    except (LoomError, TypeError, ValueError, ArithmeticError):
        return str(stored)
