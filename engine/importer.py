"""Batch import of records from CSV or XLSX: all rows or none, every bad row reported.

    result = import_file(engine, user, "expense_claim", "claims.xlsx", dry_run=True)
    result.ok, result.rows, result.errors, result.created

Columns are field names or labels (any language). A link column holds the
linked record's title_field value (a project's name, a claim's number). A
file for `FORM.lines` holds line items: one column names the parent record
(by the parent form's id or title); the lines are added to that parent.

An XLSX workbook may carry a parent form and its line items together: sheet
`expense_claim` holds the claims and sheet `expense_claim.lines` their lines, the
parent column naming a claim by its title_field value *as written in the
first sheet* (numbered forms renumber on import; the reference only ties the
lines to their claim). A CSV for a form with line items may instead repeat
the parent's columns on each row and give line columns as `lines.qty`: rows
with the same key column (the title_field, or the first column) make one
record.

Everything runs through `Engine.create`/`Engine.update` (validation, numbering,
workflow start, alerts) inside one `Engine.batch()` transaction; a dry run
rolls it back. Each row runs in a savepoint, so one bad row does not hide the
errors of the rows after it.
"""
from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any, Callable, Iterable

from .errors import LoomError, NotFound, ValidationFailed

TRUE = {"true", "yes", "y", "1", "x", "是", "对", "✓"}
FALSE = {"false", "no", "n", "0", "否", "", "✗"}


@dataclass
class RowError:
    sheet: str  # the form (or FORM.lines) the row belongs to
    row: int  # spreadsheet row number: the header is row 1
    message: str
    column: str | None = None

    def __str__(self) -> str:
        where = f"{self.sheet} row {self.row}"
        return f"{where}: {self.column}: {self.message}" if self.column else f"{where}: {self.message}"

    def as_json(self) -> dict:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "message": self.message}


@dataclass
class ImportResult:
    form: str
    rows: int = 0  # data rows read, all sheets
    errors: list[RowError] = field(default_factory=list)
    created: list[int] = field(default_factory=list)  # ids of new records (empty on dry run / error)
    updated: list[int] = field(default_factory=list)  # parents that got line items
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def by_row(self) -> dict[tuple[str, int], list[str]]:
        out: dict = {}
        for e in self.errors:
            out.setdefault((e.sheet, e.row), []).append(
                f"{e.column}: {e.message}" if e.column else e.message)
        return out

    def as_json(self) -> dict:
        return {"form": self.form, "rows": self.rows, "ok": self.ok, "dry_run": self.dry_run,
                "created": len(self.created), "updated": len(self.updated),
                "errors": [e.as_json() for e in self.errors]}


class ImportError_(LoomError):
    """The file itself cannot be read (not a row problem)."""


class _Rollback(Exception):
    pass


# --- reading ------------------------------------------------------------------------


def read_tables(source: str | os.PathLike | IO, fmt: str | None = None,
                filename: str | None = None) -> dict[str, list[list[Any]]]:
    """Sheet name → rows (header first). CSV gives one sheet named ''."""
    name = filename or (str(source) if isinstance(source, (str, os.PathLike)) else
                        getattr(source, "name", "") or "")
    fmt = (fmt or os.path.splitext(str(name))[1].lstrip(".") or "csv").lower()
    if fmt in ("xlsx", "xlsm"):
        import openpyxl

        try:
            wb = openpyxl.load_workbook(source, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a bad file
            raise ImportError_(f"cannot read the workbook: {exc}") from None
        out = {}
        for ws in wb.worksheets:
            rows = [list(r) for r in ws.iter_rows(values_only=True)]
            while rows and all(v is None or str(v).strip() == "" for v in rows[-1]):
                rows.pop()
            out[ws.title] = rows
        wb.close()
        return out
    if fmt != "csv":
        raise ImportError_(f"cannot import .{fmt} files; use CSV or XLSX")
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fh:
            raw = fh.read()
    else:
        raw = source.read()
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")  # Excel in a Chinese locale saves CSV so
    else:
        text = raw
    rows = [r for r in csv.reader(io.StringIO(text))]
    while rows and not any(c.strip() for c in rows[-1]):
        rows.pop()
    return {"": rows}


# --- columns ------------------------------------------------------------------------


def _labels(f) -> set[str]:
    names = {f.name.lower()}
    for _, text in f.label.texts:
        names.add(str(text).strip().lower())
    return names


def _input_fields(fields) -> list:
    return [f for f in fields if f.compute is None and not f.is_table]


def _column_names(fields) -> list[str]:
    return [f.name for f in _input_fields(fields) if not f.readonly]


class _Columns:
    """Header cells → fields of one level (a form, or a table's rows)."""

    def __init__(self, fields, header: list, extra: dict[str, set[str]] | None = None,
                 prefixes: Iterable[str] = ()):
        self.fields = {f.name: f for f in fields}
        self.map: dict[int, str] = {}  # column index → field name (or an extra key)
        self.line_map: dict[str, dict[int, str]] = {}  # table → {column: header after "table."}
        self.unknown: list[str] = []
        lookup: dict[str, str] = {}
        for f in _input_fields(fields):
            for n in _labels(f):
                lookup.setdefault(n, f.name)
        computed = {n for f in fields if f.compute is not None or f.is_table for n in _labels(f)}
        for key, names in (extra or {}).items():
            for n in names:
                lookup[n] = key
        for i, cell in enumerate(header):
            h = "" if cell is None else str(cell).strip()
            if not h:
                continue
            low = h.lower()
            head, dot, rest = h.partition(".")
            if dot and head.lower() in prefixes:
                self.line_map.setdefault(head.lower(), {})[i] = rest
            elif low in lookup:
                self.map[i] = lookup[low]
            elif low in computed:
                continue  # a computed column (e.g. from an export): ignored
            else:
                self.unknown.append(h)


# --- values -------------------------------------------------------------------------


class _Resolver:
    """Title-field values → record ids, one query per distinct value, cached."""

    def __init__(self, engine, user):
        self.engine, self.user = engine, user
        self.cache: dict[tuple[str, str], int | None] = {}
        self.pending: dict[tuple[str, str], int] = {}  # created in this import

    def resolve(self, form: str, value: str) -> int | None:
        key = (form, value)
        if key in self.pending:
            return self.pending[key]
        if key not in self.cache:
            spec = self.engine.defs.form(form)
            tf = spec.title_field or "number"
            if tf == "id":
                self.cache[key] = int(value) if str(value).isdigit() else None
            else:
                page = self.engine.list(self.user, form, filter=f"{tf} == {_quote(value)}", limit=2)
                self.cache[key] = page.items[0].id if len(page.items) == 1 else (
                    -1 if page.items else None)
        return self.cache[key]


def _quote(text: str) -> str:
    return "'" + str(text).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _convert(f, value: Any, resolver: _Resolver) -> Any:
    """A cell → what the field type parses; raises ValueError with the reason."""
    if isinstance(value, str):
        value = value.strip()
    if f.type == "link":
        text = _cell_text(value)
        rid = resolver.resolve(f.to, text)
        if rid is None:
            raise ValueError(f"no {f.to} {text!r}")
        if rid == -1:
            raise ValueError(f"more than one {f.to} is called {text!r}")
        return rid
    if f.type in ("choice", "multichoice"):
        labels = {}
        for opt, label in f.option_labels:
            for _, text in label.texts:
                labels[str(text).strip().lower()] = opt
        def one(v):
            v = _cell_text(v)
            if v in f.options:
                return v
            return labels.get(v.lower(), v)
        if f.type == "multichoice":
            return [one(v) for v in str(value).replace("；", ";").replace(",", ";").split(";")
                    if v.strip()]
        return one(value)
    if f.type == "boolean":
        if isinstance(value, bool):
            return value
        text = _cell_text(value).lower()
        if text in TRUE:
            return True
        if text in FALSE:
            return False
        raise ValueError(f"expected yes or no, got {value!r}")
    if f.type == "date" and isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, float):
        if f.type == "integer" and value.is_integer():
            return int(value)
        return str(Decimal(repr(value)))
    if f.type == "percent" and isinstance(value, str) and value.endswith("%"):
        return value
    return value


def _cell_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


# --- import -------------------------------------------------------------------------


@dataclass
class _Pending:
    sheet: str
    row: int
    data: dict
    lines: dict[str, list[tuple[int, str, dict]]] = field(default_factory=dict)  # table → rows
    key: str | None = None


def import_file(engine, user, form: str, source, dry_run: bool = False,
                progress: Callable[[int, int], None] | None = None, *,
                format: str | None = None, filename: str | None = None) -> ImportResult:
    """Import `source` (path or binary stream) into `form` or `FORM.table`; all or nothing."""
    parent_id, _, table = form.partition(".")
    spec = engine.defs.form(parent_id)
    if table and (spec.field(table) is None or not spec.field(table).is_table):
        raise NotFound(f"form {parent_id} has no line items called {table!r}")
    sheets = read_tables(source, format, filename)
    result = ImportResult(form=form, dry_run=dry_run)
    resolver = _Resolver(engine, user)
    if not table and not engine.can_create(user, parent_id):
        raise_permission(engine, user, spec)

    # Which sheet holds what: the form's own sheet (or the only sheet), and FORM.table sheets.
    main_rows, line_sheets = _pick_sheets(sheets, parent_id, table, spec)
    total = max(0, len(main_rows) - 1) + sum(max(0, len(r) - 1) for r in line_sheets.values())
    result.rows = total
    done = [0]

    def tick(rows: int = 1):
        """Progress counts rows as their records are written (reading is quick)."""
        before = done[0]
        done[0] += rows
        if progress is not None and (done[0] // 500 != before // 500 or done[0] == total):
            progress(min(done[0], total), total)

    try:
        with engine.batch() as savepoint:
            if table:
                _import_lines_only(engine, user, spec, table, main_rows, resolver, result,
                                   savepoint, tick)
            else:
                _import_records(engine, user, spec, main_rows, line_sheets, resolver, result,
                                savepoint, tick)
            if dry_run or result.errors:
                raise _Rollback()
    except _Rollback:
        result.created, result.updated = [], []
    if progress is not None and total and done[0] < total:
        progress(total, total)
    result.errors.sort(key=lambda e: (e.sheet != form, e.sheet, e.row))
    return result


def raise_permission(engine, user, spec):
    from .errors import PermissionDenied

    raise PermissionDenied(f"you may not create {spec.title.get(user.language)} records")


def _pick_sheets(sheets: dict, form: str, table: str, spec):
    if list(sheets) == [""]:
        return sheets[""], {}
    names = {k.strip().lower(): k for k in sheets}
    own = form + ("." + table if table else "")
    title_names = {str(t).lower() for _, t in spec.title.texts}
    main_key = names.get(own) or next((names[n] for n in names if n in title_names), None) \
        or next(iter(sheets))
    lines = {}
    if not table:
        for t in spec.tables:
            k = names.get(f"{form}.{t.name}") or names.get(t.name) or next(
                (names[n] for n in names if n in _labels(t) and names[n] != main_key), None)
            if k is not None:
                lines[t.name] = sheets[k]
    return sheets[main_key], lines


def _parent_names(spec) -> set[str]:
    return {spec.id.lower(), "parent"} | {str(t).strip().lower() for _, t in spec.title.texts}


def _row_values(cols: _Columns, row: list, resolver, sheet: str, rownum: int,
                result: ImportResult, skip: set[str] = frozenset()) -> dict | None:
    data, ok = {}, True
    for i, name in cols.map.items():
        if name in skip or i >= len(row) or _blank(row[i]):
            continue
        f = cols.fields[name]
        try:
            data[name] = _convert(f, row[i], resolver)
        except ValueError as exc:
            result.errors.append(RowError(sheet, rownum, str(exc), name))
            ok = False
    return data if ok else None


def _import_records(engine, user, spec, rows, line_sheets, resolver, result, savepoint, tick):
    form = spec.id
    if not rows:
        result.errors.append(RowError(form, 1, "the file is empty: no header row"))
        return
    tf = spec.title_field
    numbered = bool(spec.number) and (tf in (None, "number") or spec.field(tf) is None)
    extra = {"_key": {"number", "ref", "key", "#"} | ({tf} if numbered and tf else set())}
    cols = _Columns(spec.fields, rows[0], extra,
                    prefixes=() if line_sheets else [t.name for t in spec.tables])
    for h in cols.unknown:
        result.errors.append(RowError(form, 1, f"unknown column {h!r}; the columns are "
                                      f"{', '.join(_column_names(spec.fields))}"))
    line_cols = {}
    for tname, idx in cols.line_map.items():
        lc = _Columns(spec.field(tname).fields, list(idx.values()))
        for h in lc.unknown:
            result.errors.append(RowError(form, 1, f"unknown column {tname}.{h}; the columns are "
                                          + ", ".join(f"{tname}.{n}" for n in
                                                      _column_names(spec.field(tname).fields))))
        line_cols[tname] = (list(idx), lc)
    if any(e.row == 1 for e in result.errors):
        return
    key_col = next((i for i, n in cols.map.items() if n == "_key"), None)
    if key_col is None and tf and not numbered:
        key_col = next((i for i, n in cols.map.items() if n == tf), None)
    pending: list[_Pending] = []
    by_key: dict[str, _Pending] = {}
    flat_table = bool(line_cols)
    for n, row in enumerate(rows[1:], start=2):
        if all(_blank(v) for v in row):
            continue
        key = _cell_text(row[key_col]) if key_col is not None and key_col < len(row) else None
        p = by_key.get(key) if key and flat_table else None
        if p is None:
            data = _row_values(cols, row, resolver, form, n, result, skip={"_key"})
            p = _Pending(form, n, data if data is not None else {}, key=key)
            if data is None:
                p.data = None
            pending.append(p)
            if key:
                if key in by_key and not flat_table and line_sheets:
                    result.errors.append(RowError(form, n, f"{key!r} appears twice"))
                by_key[key] = p
        for tname, (idx, lc) in line_cols.items():
            cells = [row[i] if i < len(row) else None for i in idx]
            if any(not _blank(c) for c in cells):
                line = _row_values(lc, cells, resolver, form, n, result)
                p.lines.setdefault(tname, []).append((n, form, line))
    # Line sheets: each row names its parent by the key used in the first sheet.
    for tname, lrows in line_sheets.items():
        sheet = f"{form}.{tname}"
        t = spec.field(tname)
        if not lrows:
            continue
        lcols = _Columns(t.fields, lrows[0], {"_parent": _parent_names(spec)})
        if lcols.unknown:
            for h in lcols.unknown:
                result.errors.append(RowError(sheet, 1, f"unknown column {h!r}"))
            continue
        pcol = next((i for i, nme in lcols.map.items() if nme == "_parent"), None)
        if pcol is None:
            result.errors.append(RowError(sheet, 1, f"no column naming the {form} of each line "
                                          f"(call it {form})"))
            continue
        for n, row in enumerate(lrows[1:], start=2):
            if all(_blank(v) for v in row):
                continue
            ref = _cell_text(row[pcol]) if pcol < len(row) else ""
            p = by_key.get(ref)
            if p is None:
                result.errors.append(RowError(sheet, n, f"no {form} {ref!r} in the {form} sheet",
                                              form))
                continue
            line = _row_values(lcols, row, resolver, sheet, n, result, skip={"_parent"})
            p.lines.setdefault(tname, []).append((n, sheet, line))
    for p in pending:
        tick(1 + sum(len(v) for v in p.lines.values()) - (1 if p.lines and line_cols else 0))
        if p.data is None or any(line is None for rows_ in p.lines.values() for _, _, line in rows_):
            continue
        data = dict(p.data)
        for tname, lrows in p.lines.items():
            data[tname] = [line for _, _, line in lrows]
        try:
            with savepoint():
                rec = engine.create(user, form, data)
        except ValidationFailed as exc:
            _report(result, p, exc)
            continue
        except LoomError as exc:
            result.errors.append(RowError(p.sheet, p.row, str(exc)))
            continue
        except Exception as exc:  # a constraint the database caught (e.g. unique)
            if not _is_db_error(exc):
                raise
            result.errors.append(RowError(p.sheet, p.row, _db_message(exc)))
            continue
        result.created.append(rec.id)
        if p.key and tf:
            resolver.pending[(form, p.key)] = rec.id


def _report(result: ImportResult, p: _Pending, exc: ValidationFailed) -> None:
    for path, msg in (exc.fields or {"": str(exc)}).items():
        # lines[3].qty → the spreadsheet row of that line
        head, _, rest = str(path).partition("[")
        if rest and head in p.lines:
            idx, _, col = rest.partition("]")
            try:
                n, sheet, _ = p.lines[head][int(idx)]
            except (ValueError, IndexError):
                n, sheet = p.row, p.sheet
            result.errors.append(RowError(sheet, n, str(msg), col.lstrip(".") or head))
        else:
            result.errors.append(RowError(p.sheet, p.row, str(msg), path or None))


def _import_lines_only(engine, user, spec, table, rows, resolver, result, savepoint, tick):
    """FORM.lines: append line items to existing parents, named by their title_field."""
    form = spec.id
    sheet = f"{form}.{table}"
    t = spec.field(table)
    if not rows:
        result.errors.append(RowError(sheet, 1, "the file is empty: no header row"))
        return
    cols = _Columns(t.fields, rows[0], {"_parent": _parent_names(spec)})
    for h in cols.unknown:
        result.errors.append(RowError(sheet, 1, f"unknown column {h!r}"))
    pcol = next((i for i, nme in cols.map.items() if nme == "_parent"), None)
    if pcol is None:
        result.errors.append(RowError(sheet, 1, f"no column naming the {form} of each line "
                                      f"(call it {form})"))
    if cols.unknown or pcol is None:
        return
    groups: dict[int, list] = {}
    for n, row in enumerate(rows[1:], start=2):
        if all(_blank(v) for v in row):
            continue
        ref = _cell_text(row[pcol]) if pcol < len(row) else ""
        pid = resolver.resolve(form, ref) if ref else None
        if pid is None or pid == -1:
            result.errors.append(RowError(sheet, n, f"no {form} {ref!r}", form))
            continue
        line = _row_values(cols, row, resolver, sheet, n, result, skip={"_parent"})
        groups.setdefault(pid, []).append((n, sheet, line))
    for pid, lines in groups.items():
        tick(len(lines))
        if any(line is None for _, _, line in lines):
            continue
        try:
            rec = engine.get(user, form, pid)
            existing = [dict(r) for r in rec.data.get(table) or []]
            with savepoint():
                engine.update(user, form, pid, {table: existing + [l for _, _, l in lines]},
                              version=rec.version)
        except ValidationFailed as exc:
            # Existing lines come first in the record; their errors go on the first new row.
            padded = [(lines[0][0], sheet, None)] * len(existing) + lines
            _report(result, _Pending(sheet, lines[0][0], {}, {table: padded}), exc)
            continue
        except LoomError as exc:
            for n, _, _ in lines:
                result.errors.append(RowError(sheet, n, str(exc)))
            continue
        result.updated.append(pid)


def _is_db_error(exc: Exception) -> bool:
    import sqlalchemy as sa

    return isinstance(exc, sa.exc.DBAPIError)


def _db_message(exc: Exception) -> str:
    text = str(getattr(exc, "orig", exc)).splitlines()[0]
    if "unique" in text.lower() or "duplicate" in text.lower():
        return "a record with the same unique value already exists"
    return text


# --- templates ----------------------------------------------------------------------


def template(engine, form: str, format: str = "csv", language: str | None = None) -> bytes:
    """An empty import file for `form` (or `FORM.table`): the header row, field names.

    XLSX workbooks for a form with line items carry one sheet per table, its
    first column naming the parent; a second row shows each column's label.
    """
    parent_id, _, table = form.partition(".")
    spec = engine.defs.form(parent_id)
    tf = spec.field(spec.title_field) if spec.title_field else None
    key = tf.name if tf is not None and tf.compute is None else "number"
    sheets: list[tuple[str, list[str], list[str]]] = []
    if table:
        t = spec.field(table)
        if t is None or not t.is_table:
            raise NotFound(f"form {parent_id} has no line items called {table!r}")
        fs = _input_fields(t.fields)
        sheets.append((form, [parent_id] + [f.name for f in fs],
                       [spec.title.get(language)] + [f.label.get(language) for f in fs]))
    else:
        fs = [f for f in _input_fields(spec.fields) if not f.readonly]
        names = [f.name for f in fs]
        labels = [f.label.get(language) for f in fs]
        if spec.tables and key not in names:
            names, labels = [key] + names, [key] + labels
        sheets.append((parent_id, names, labels))
        for t in spec.tables:
            lf = _input_fields(t.fields)
            sheets.append((f"{parent_id}.{t.name}", [parent_id] + [f.name for f in lf],
                           [spec.title.get(language)] + [f.label.get(language) for f in lf]))
    if format == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(sheets[0][1])
        return buf.getvalue().encode("utf-8-sig")
    if format != "xlsx":
        raise LoomError(f"no template format {format!r}; use csv or xlsx")
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import Font

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


__all__ = ["ImportResult", "RowError", "import_file", "template", "read_tables"]
