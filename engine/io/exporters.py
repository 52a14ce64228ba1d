"""Form exports a person reads and `import_file` reads back.

    engine.export(user, "expense_claim", "xlsx", out)        # claims + a sheet per table
    engine.export(user, "expense_claim.lines", "csv", out)   # the lines, naming their claim

Columns: the record's number (`Number`, or `_key` when a field answers to
that word) and workflow step (`State` / `_state`), then every field under its
label. Cells: link titles, choice labels (option values with `labels=False`),
yes/no, "12.5%", typed numbers and dates (cells.to_cell). Line items go on
their own sheet (XLSX) or in the `FORM.table` export (CSV), the first column
naming the parent as the import expects. Writing reuses the report exporters
(engine/reports/exporters.py); records are read a page at a time through
`Engine.list`, so the reader's permissions apply and memory stays flat.
"""
from __future__ import annotations

import contextlib
from typing import BinaryIO, Iterator

from ..errors import LoomError, NotFound
from ..reports.exporters import FORMATS, write_csv, write_xlsx_sheets
from ..reports.results import ReportStream, ResultColumn
from .cells import to_cell
from .columns import KEY, PARENT, STATE, heading, taken, field_heading
from .links import Titles

PAGE = 500  # records per Engine.list call (its maximum)


def export(engine, user, name: str, fmt: str, out: BinaryIO, *, labels: bool = True) -> int:
    """Write `name` (a form, or `FORM.table`) as CSV or XLSX; returns the rows of its first sheet.

    XLSX of a form adds a sheet per table; CSV of a form holds the records alone
    (export `FORM.table` for the lines)."""
    if fmt not in FORMATS:
        raise LoomError(f"unknown export format {fmt!r}; use {' or '.join(FORMATS)}")
    streams = sheets(engine, user, name, labels=labels)
    if fmt == "csv":
        return write_csv(streams[0], out)
    return write_xlsx_sheets(streams, out)[0]


@contextlib.contextmanager
def export_stream(engine, user, name: str, *, labels: bool = True) -> Iterator[ReportStream]:
    """The first sheet of `export` as a lazy stream (for streamed HTTP downloads)."""
    yield sheets(engine, user, name, labels=labels)[0]


def sheets(engine, user, name: str, *, labels: bool = True) -> list[ReportStream]:
    """The export's sheets as lazy streams: the form's records, then one per table."""
    form_id, _, table = name.partition(".")
    spec = engine.defs.form(form_id)
    if table and (spec.field(table) is None or not spec.field(table).is_table):
        raise NotFound(f"form {form_id!r} has no table {table!r}")
    ctx = _Context(engine, user, spec, labels)
    if table:
        if table not in ctx.readable:
            raise NotFound(f"form {form_id!r} has no table {table!r}")
        return [ctx.lines(spec.field(table))]
    return [ctx.records()] + [ctx.lines(t) for t in spec.tables if t.name in ctx.readable]


class _Context:
    """One export: the reader, their language, and the link titles read so far."""

    def __init__(self, engine, user, spec, labels: bool):
        self.engine, self.user, self.spec, self.labels = engine, user, spec, labels
        self.language = user.language
        self.titles = Titles(engine, user, self.language, labels)
        self.workflow = engine.defs.workflow_for(spec.id)
        # a field the reader may not see has no column (not an empty one)
        self.readable = frozenset(engine.readable_fields(user, spec.id))

    def all_records(self):
        offset = 0
        while True:
            page = self.engine.list(self.user, self.spec.id, order="id", limit=PAGE, offset=offset)
            yield from page.items
            if len(page.items) < PAGE:
                return
            offset += PAGE

    def cell(self, f, value):
        return to_cell(self.engine.registries.field_types, f, value, language=self.language,
                       title=self.titles, labels=self.labels)

    def records(self) -> ReportStream:
        spec, fields = self.spec, self.spec.fields
        plain = [f for f in fields if not f.is_table and f.name in self.readable]
        keyed = self._keyed()
        cols = []
        if keyed:
            cols.append(ResultColumn(KEY, heading(fields, KEY, self.language), "text", "column"))
        if self.workflow is not None:
            cols.append(ResultColumn(STATE, heading(fields, STATE, self.language), "text", "column"))
        cols += [self._column(f, fields) for f in plain]

        def rows():
            for rec in self.all_records():
                row = [self._key(rec)] if keyed else []
                if self.workflow is not None:
                    row.append(self._state(rec.state))
                yield tuple(row + [self.cell(f, rec.data.get(f.name)) for f in plain])

        return ReportStream(spec.id, spec.id, cols, rows())

    def lines(self, t) -> ReportStream:
        """A table's lines, each naming its parent by the key of the records sheet (which
        a `FORM.table` import also resolves: title, number or `#id`)."""
        spec, fields = self.spec, [f for f in t.fields if not f.is_table]
        title = spec.title.get(self.language) or spec.id
        parent = PARENT if title.lower() in taken(t.fields) else title
        cols = [ResultColumn(PARENT, parent, "text", "column")]
        cols += [self._column(f, fields) for f in fields]

        def rows():
            for rec in self.all_records():
                ref = self._key(rec)
                for line in rec.data.get(t.name) or []:
                    yield tuple([ref] + [self.cell(f, line.get(f.name)) for f in fields])

        name = f"{spec.id}.{t.name}"
        return ReportStream(name, name, cols, rows())

    def _keyed(self) -> bool:
        """Whether the records sheet needs a key column: numbered forms, and forms whose
        lines need something to name their parent by."""
        spec = self.spec
        return bool(spec.number) or (bool(spec.tables) and self._title_field() is None)

    def _title_field(self):
        tf = self.spec.title_field
        f = self.spec.field(tf) if tf else None
        if f is None or f.compute is not None:
            return None
        return None if self.engine.registries.field_types[f.type].link_form(f) else f

    def _key(self, rec):
        """What ties a record to its lines in one workbook (what the import reads as key)."""
        if self.spec.number:
            return rec.number
        tf = self._title_field()
        if tf is not None:
            return self.cell(tf, rec.data.get(tf.name))
        return f"#{rec.id}"

    def _column(self, f, fields) -> ResultColumn:
        """A field's column: typed (an XLSX number or date format) when its type keeps a cell
        format, else text as `to_cell` wrote it."""
        typed = self.engine.registries.field_types[f.type].cell_format is not None
        return ResultColumn(f.name, field_heading(f, fields, self.language),
                            f.type if typed else "text", "column")

    def _state(self, state):
        step = self.workflow.step(state) if state else None
        return step.title.get(self.language) if step is not None and step.title else state

