"""Empty import files: the header row a form (or `FORM.table`) takes, CSV or XLSX.

A form with line items gets a `_key` column first (what ties a record to its
lines); each table's sheet names the parent in its first column (`_parent`
when a line field is called like the parent form). XLSX headers carry the
column's label as a comment.
"""
from __future__ import annotations

import csv
import io

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import Font

from ..errors import LoomError, NotFound
from .columns import KEY, PARENT, input_fields, taken

FORMATS = ("csv", "xlsx")


def sheets_of(spec, table: str | None, language: str | None) -> list[tuple[str, list, list]]:
    """(sheet name, column names, column labels) of each sheet an import of it reads."""
    if table:
        t = spec.field(table)
        if t is None or not t.is_table:
            raise NotFound(f"form {spec.id} has no line items called {table!r}")
        return [_line_sheet(spec, t, language)]
    tf = spec.field(spec.title_field) if spec.title_field else None
    fs = [f for f in input_fields(spec.fields) if not f.readonly]
    names = [f.name for f in fs]
    labels = [f.label.get(language) for f in fs]
    # a record's own key: its title field when it has one to type in, else `_key`
    if spec.tables and (tf is None or tf.compute is not None or tf.name not in names):
        names, labels = [KEY] + names, [KEY] + labels
    return [(spec.id, names, labels)] + [_line_sheet(spec, t, language) for t in spec.tables]


def _line_sheet(spec, t, language):
    parent = spec.id if spec.id.lower() not in taken(t.fields) else PARENT
    fs = input_fields(t.fields)
    return (f"{spec.id}.{t.name}", [parent] + [f.name for f in fs],
            [spec.title.get(language)] + [f.label.get(language) for f in fs])


def template(engine, form: str, format: str = "csv", language: str | None = None) -> bytes:
    """An empty import file for `form` (or `FORM.table`): the header row, field names.

    XLSX workbooks for a form with line items carry one sheet per table, its
    first column naming the parent; each header cell's comment is its label.
    """
    parent_id, _, table = form.partition(".")
    sheets = sheets_of(engine.defs.form(parent_id), table or None, language)
    if format == "csv":
        buf = io.StringIO()
        csv.writer(buf).writerow(sheets[0][1])
        return buf.getvalue().encode("utf-8-sig")
    if format != "xlsx":
        raise LoomError(f"no template format {format!r}; use {' or '.join(FORMATS)}")
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, names, labels in sheets:
        ws = wb.create_sheet(title[:31])
        ws.append(names)
        for cell, label in zip(ws[1], labels):
            cell.font = Font(bold=True)
            if label and label != cell.value:
                cell.comment = Comment(str(label), "loom")
        ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
