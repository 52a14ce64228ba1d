"""Batch import of records from CSV or XLSX: all rows or none, every bad row reported.

    result = engine.import_file(user, "expense_claim", "claims.xlsx", dry_run=True)
    result.ok, result.rows, result.errors, result.created

Columns are field names or labels (any language). A link column holds the
linked record's title (links.py). A file for `FORM.lines` holds line items:
one column names the parent record (by its title); the lines are added to it.

An XLSX workbook may carry a parent form and its line items together: sheet
`expense_claim` holds the claims and sheet `expense_claim.lines` their lines, the
`_parent` column naming a claim by its `_key` *as written in the first sheet*
(numbered forms renumber on import; the key only ties the lines to their
claim). CSV does the same with `claims.csv` and `claims.lines.csv` side by
side, or repeats the parent's columns on each row and gives line columns as
`lines.qty`: rows with the same key make one record.

New records go in two phases. First every row is read and checked with no
write lock (`Engine.check_new_many`: validation, computed values, unique values,
CHECK_BATCH records to a read transaction): a dry run ends there, and so does an import with a bad
row, having written nothing. The main sheet is streamed, read twice (count, then
records, each checked once its last row is read) and the checked values wait in a
temporary spool, so memory does not grow with the file. A file read from a path that
changes between or during the reads ends the import with FileChanged before anything is
written (readers.py compares its identity, size and times). Then the checked records are written
WRITE_BATCH to a short write transaction (`Engine.create_checked`: numbering,
workflow start, alerts; a form with no workflow as one batch in a few statements,
`Engine.create_many_checked`, records/bulk.py), so readers and other writers go on between batches;
the journal (journal.py) lists what is written and deletes it all again when a
batch fails, or — after a crash — when the next import starts.

Line items of existing records (`FORM.table`) are checked by `Engine.preview`
on a dry run and written in one transaction, a savepoint per record so one bad
record does not hide the errors of the others.
"""
from __future__ import annotations

import contextlib
import gc
import pickle
import threading
import tempfile
from collections import deque
from dataclasses import dataclass, field
from itertools import islice
from typing import Callable, Iterator

import sqlalchemy as sa

from ..errors import LoomError, NotFound, PermissionDenied, ValidationFailed
from .cells import blank, cell_text
from .columns import (KEY, KEY_WORDS, PARENT, STATE, STATE_WORDS, Columns, column_names,
                      empty_row, reserved)
from .journal import Journal, recover
from .links import LinkResolver
from .readers import open_sheets, sibling_csvs, without_trailing_blanks
from .results import ImportResult, RowError

PROGRESS_EVERY = 500  # rows between progress calls
WRITE_BATCH = 200  # records per write transaction: the database lock is held this long
# records per write transaction of the bulk path (records/bulk.py): it holds the lock about as
# long as WRITE_BATCH records one by one, and each commit is an fsync saved
BULK_BATCH = 500
CHECK_BATCH = 500  # records checked in one read transaction (linked records read once)
GC_THRESHOLD = 10_000  # allocations between young-generation collections while importing
MAX_SHEET_NAME = 31  # Excel cuts longer sheet names (exports of long FORM.table names)


class _Rollback(Exception):
    pass


@dataclass
class _Pending:
    sheet: str
    row: int
    data: dict | None
    lines: dict[str, list[tuple[int, str, dict]]] = field(default_factory=dict)  # table → rows
    key: str | None = None
    weight: int = 1  # rows of the file this record stands for (progress)

    def __reduce__(self):
        # spooled as its fields, a tuple: a third smaller and faster than a dataclass's state
        return (_Pending, (self.sheet, self.row, self.data, self.lines, self.key, self.weight))


def import_file(engine, user, form: str, source, dry_run: bool = False,
                progress: Callable[[int, int], None] | None = None, *,
                format: str | None = None, filename: str | None = None,
                check_progress: Callable[[int, int], None] | None = None) -> ImportResult:
    """Import `source` (path or binary stream) into `form` or `FORM.table`; all or nothing.
    `progress(done, total)` counts rows written (a dry run: checked); `check_progress` the
    rows checked before an import writes."""
    parent_id, _, table = form.partition(".")
    spec = engine.defs.form(parent_id)
    if table and (spec.field(table) is None or not spec.field(table).is_table):
        raise NotFound(f"form {parent_id} has no line items called {table!r}")
    book = open_sheets(source, format, filename)
    try:
        with _fewer_collections():
            return _import(engine, user, form, spec, table, book, source, format, dry_run,
                           progress, check_progress)
    finally:
        book.close()


_gc_lock = threading.Lock()
_gc_users = [0, None]  # imports under way, the thresholds before the first of them


@contextlib.contextmanager
def _fewer_collections():
    """The cyclic garbage collector run less often while imports are under way: a row makes
    dozens of short-lived dicts and lists, and with the default threshold (700) a collection
    every few rows took a quarter of an import's CPU. Reference counting frees them as
    before; only cycles wait longer. The last import to finish puts the thresholds back."""
    with _gc_lock:
        if _gc_users[0] == 0:
            _gc_users[1] = gc.get_threshold()
            gc.set_threshold(max(GC_THRESHOLD, _gc_users[1][0]), *_gc_users[1][1:])
        _gc_users[0] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users[0] -= 1
            if _gc_users[0] == 0:
                gc.set_threshold(*_gc_users[1])


class _Ticks:
    """Progress in rows, reported every PROGRESS_EVERY rows and at the end."""

    def __init__(self, report: Callable[[int, int], None] | None, total: int):
        self.report, self.total, self.done = report, total, 0

    def __call__(self, rows: int = 1) -> None:
        before = self.done
        self.done += rows
        if self.report is not None and (self.done // PROGRESS_EVERY != before // PROGRESS_EVERY
                                        or self.done == self.total):
            self.report(min(self.done, self.total), self.total)

    def finish(self) -> None:
        if self.report is not None and self.total and self.done < self.total:
            self.report(self.total, self.total)


def _import(engine, user, form, spec, table, book, source, format, dry_run, progress,
            check_progress) -> ImportResult:
    parent_id = spec.id
    result = ImportResult(form=form, dry_run=dry_run)
    resolver = LinkResolver(engine, user)
    if not table and not engine.can_create(user, parent_id):
        raise PermissionDenied(f"you may not create {spec.title.get(user.language)} records")
    # Which sheet holds what: the form's own sheet (or the only sheet), and FORM.table sheets.
    siblings = {}
    if not table and book.names == [""]:
        siblings = sibling_csvs(source, format, [t.name for t in spec.tables])
    main, line_names = _pick_sheets(book.names, parent_id, table, spec)
    # line items on sheets (or files) of their own are held; the main sheet is streamed
    line_sheets = siblings or {t: without_trailing_blanks(list(book.rows(name)))
                               for t, name in line_names.items()}
    recover(engine)  # imports whose process died mid-way are undone first
    if table:
        rows = without_trailing_blanks(list(book.rows(main)))
        book.verify()  # the file as read from start to end (see below)
        total = max(0, len(rows) - 1)
        result.rows = total
        tick = _Ticks(progress, total)
        try:  # line items of existing records: one transaction (a dry run writes nothing)
            with contextlib.ExitStack() as stack:
                savepoint = None if dry_run else stack.enter_context(engine.batch())
                _import_lines_only(engine, user, spec, table, rows, resolver, result,
                                   savepoint, tick)
                if dry_run or result.errors:
                    raise _Rollback()
        except _Rollback:
            result.updated = []
        tick.finish()
    else:
        with _Spool() as spool:
            tick = _import_records(engine, user, spec, book, main, line_sheets, resolver,
                                   result, progress if dry_run else check_progress,
                                   None if dry_run else spool)
            # the passes read one file: a file changed meanwhile (a count from one version,
            # records from another) ends the import here, before anything is written
            book.verify()
            tick.finish()  # every row checked
            if not dry_run and not result.errors:
                tick = _Ticks(progress, result.rows)
                _write(engine, user, spec.id, spool, result, tick)
                if not result.errors:
                    tick.finish()
    result.errors.sort(key=lambda e: (e.sheet != form, e.sheet, e.row))
    return result


def _pick_sheets(sheets: list[str], form: str, table: str, spec) -> tuple[str, dict[str, str]]:
    """The main sheet's name, and {table: its sheet's name}."""
    if sheets == [""]:
        return "", {}
    names = {k.strip().lower(): k for k in sheets}
    own = form + ("." + table if table else "")
    title_names = {str(t).lower() for _, t in spec.title.texts}
    main_key = names.get(own) or next((names[n] for n in names if n in title_names), None) \
        or sheets[0]
    lines = {}
    if not table:
        for t in spec.tables:
            own_name = f"{form}.{t.name}"
            k = names.get(own_name) or names.get(own_name[:MAX_SHEET_NAME]) or names.get(t.name) \
                or next((names[n] for n in names if n in _labels_of(t) and names[n] != main_key),
                        None)
            if k is not None:
                lines[t.name] = k
    return main_key, lines


def _labels_of(f) -> set[str]:
    return {f.name.lower()} | {str(t).strip().lower() for _, t in f.label.texts}


def _parent_words(spec) -> set[str]:
    """Older headers of the parent column: the form's id, "parent", its title."""
    return {spec.id, "parent"} | {str(t).strip() for _, t in spec.title.texts}


def _line_columns(spec, t, header) -> Columns:
    return Columns(t.fields, header, reserved(t.fields, PARENT, _parent_words(spec)))


def _row_values(cols: Columns, row: list, resolver, sheet: str, rownum: int,
                result: ImportResult, skip: frozenset = frozenset((KEY, PARENT))) -> dict | None:
    data, ok = {}, True
    types, n = resolver.types, len(row)
    for i, name in cols.map.items():
        if i >= n or name in skip:
            continue
        cell = row[i]
        if blank(cell):
            continue
        f = cols.fields[name]
        try:
            data[name] = types[f.type].from_cell(f, cell, resolver)
        except ValueError as exc:
            result.errors.append(RowError(sheet, rownum, str(exc), name))
            ok = False
    return data if ok else None


class _Spool:
    """Checked records waiting to be written, pickled to a temporary file a check batch at
    a time: memory stays flat in the file's size, and the write reads them back in order."""

    def __init__(self):
        self.file = None
        self.count = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.file is not None:
            self.file.close()

    def add(self, items: list[tuple[_Pending, dict]]) -> None:
        if self.file is None:
            self.file = tempfile.TemporaryFile()
        pickle.dump(items, self.file, pickle.HIGHEST_PROTOCOL)
        self.count += len(items)

    def chunks(self, size: int) -> Iterator[list[tuple[_Pending, dict]]]:
        """The records in the order added, `size` at a time."""
        if self.file is None:
            return
        self.file.seek(0)
        chunk: list = []
        while True:
            try:
                items = pickle.load(self.file)
            except EOFError:
                break
            for item in items:
                chunk.append(item)
                if len(chunk) == size:
                    yield chunk
                    chunk = []
        if chunk:
            yield chunk


def _import_records(engine, user, spec, book, main: str, line_sheets, resolver, result,
                    check_report, spool: _Spool | None) -> _Ticks:
    """Read the main sheet twice: count its rows (and where each key's rows end), then turn
    them into records and check each as soon as its last row is read, CHECK_BATCH to a read
    transaction (nothing written). Records that pass go to `spool` (None: a dry run) while
    the file has no bad row. The check's progress (`check_report`) is answered."""
    form = spec.id
    tf = spec.title_field
    # numbered: the number names a record (its title is no field of its own)
    numbered = bool(spec.number) and (tf is None or spec.field(tf) is None)
    # Pass 1: the header, the row count, and each key's last row (a flat file's records).
    rows = book.rows(main)
    header = next(rows, None)
    cols = line_cols = key_col = None
    last, ends = 0, {}
    if header is not None:
        last = 0 if empty_row(header) else 1
        cols = Columns(spec.fields, header, reserved(spec.fields, KEY, KEY_WORDS),
                       prefixes=() if line_sheets else [t.name for t in spec.tables],
                       ignored=reserved(spec.fields, STATE, STATE_WORDS)[STATE])
        key_col = cols.index(KEY)
        if key_col is None and tf and not numbered:
            key_col = cols.index(tf)
        flat_table = bool(cols.line_map)
        for n, row in enumerate(rows, start=2):
            if empty_row(row):
                continue
            last = n
            if flat_table and key_col is not None and key_col < len(row):
                key = cell_text(row[key_col])
                if key:
                    ends[key] = n
    total = max(0, last - 1) + sum(max(0, len(r) - 1) for r in line_sheets.values())
    result.rows = total
    tick = _Ticks(check_report, total)
    if not last:
        result.errors.append(RowError(form, 1, "the file is empty: no header row"))
        return tick
    for msg in cols.problems(column_names(spec.fields)):
        result.errors.append(RowError(form, 1, msg))
    line_cols = {}
    for tname, idx in cols.line_map.items():
        lc = Columns(spec.field(tname).fields, list(idx.values()), positions=list(idx))
        for msg in lc.problems(f"{tname}.{n}" for n in column_names(spec.field(tname).fields)):
            result.errors.append(RowError(form, 1, msg.replace("unknown column '",
                                                               f"unknown column '{tname}.")))
        line_cols[tname] = (list(idx), lc)
    if any(e.row == 1 for e in result.errors):
        return tick
    flat_table = bool(line_cols)
    # Line sheets: each row names its parent by the key used in the first sheet (held).
    by_parent: dict[str, dict[str, list]] = {}  # table → key → [(row number, cells)]
    line_sheet_cols = {}
    for tname, lrows in line_sheets.items():
        sheet = f"{form}.{tname}"
        if not lrows:
            continue
        lcols = _line_columns(spec, spec.field(tname), lrows[0])
        if lcols.problems():
            for msg in lcols.problems(column_names(spec.field(tname).fields)):
                result.errors.append(RowError(sheet, 1, msg))
            continue
        pcol = lcols.index(PARENT)
        if pcol is None:
            result.errors.append(RowError(sheet, 1, f"no column naming the {form} of each line "
                                          f"(call it {PARENT})"))
            continue
        line_sheet_cols[tname] = lcols
        groups = by_parent[tname] = {}
        for n, row in enumerate(islice(lrows, 1, None), start=2):
            if not empty_row(row):
                groups.setdefault(cell_text(row[pcol]) if pcol < len(row) else "", []).append(
                    (n, row))
        lrows.clear()  # the cells are in the groups now
    checker = _Checker(engine, user, spec, result, spool)
    keys_seen: set[str] = set()
    waiting: deque[_Pending] = deque()  # records in file order, the first perhaps unfinished
    open_keys: dict[str, _Pending] = {}  # a flat file's records whose last row is yet to come
    # Pass 2: rows → records → checked, a record as soon as its last row is read.
    for n, row in enumerate(islice(book.rows(main), 1, None), start=2):
        if n > last:
            break
        if empty_row(row):
            continue
        key = cell_text(row[key_col]) if key_col is not None and key_col < len(row) else None
        p = open_keys.get(key) if key and flat_table else None
        if p is None:
            p = _Pending(form, n, _row_values(cols, row, resolver, form, n, result), key=key)
            waiting.append(p)
            if key:
                if key in keys_seen and not flat_table and line_sheets:
                    result.errors.append(RowError(form, n, f"{key!r} appears twice"))
                if flat_table:
                    open_keys[key] = p
                elif line_sheets:
                    keys_seen.add(key)
                for tname, groups in by_parent.items():
                    sheet = f"{form}.{tname}"
                    for ln, lrow in groups.pop(key, ()):
                        line = _row_values(line_sheet_cols[tname], lrow, resolver, sheet, ln,
                                           result)
                        p.lines.setdefault(tname, []).append((ln, sheet, line))
        for tname, (idx, lc) in line_cols.items():
            cells = [row[i] if i < len(row) else None for i in idx]
            if any(not blank(c) for c in cells):
                line = _row_values(lc, cells, resolver, form, n, result)
                p.lines.setdefault(tname, []).append((n, form, line))
        if p.key and flat_table and ends.get(p.key, 0) <= n:
            del open_keys[p.key]  # its last row: the record is whole
        while waiting and not (waiting[0].key and waiting[0].key in open_keys):
            checker.add(waiting.popleft(), line_cols, tick)
    while waiting:
        checker.add(waiting.popleft(), line_cols, tick)
    checker.flush()
    for tname, groups in by_parent.items():
        sheet = f"{form}.{tname}"
        for ref, lrows in groups.items():
            for ln, _ in lrows:
                result.errors.append(RowError(sheet, ln, f"no {form} {ref!r} in the {form} sheet",
                                              form))
    return tick


class _Checker:
    """Records checked CHECK_BATCH to a read transaction (`Engine.check_new_many`: linked
    records read once, unique values in one query per field) and against the file's earlier
    rows; the checked values go to the spool while no row has failed."""

    def __init__(self, engine, user, spec, result: ImportResult, spool: _Spool | None):
        self.engine, self.user, self.form, self.result, self.spool = \
            engine, user, spec.id, result, spool
        self.unique = [(f, engine.registries.field_types[f.type].to_sql)
                       for f in (spec.field(n) for n in engine.typed[spec.id].unique)]
        self.seen: dict[str, set] = {f.name: set() for f, _ in self.unique}  # SQL values
        self.batch: list[tuple[_Pending, dict]] = []

    def add(self, p: _Pending, line_cols, tick) -> None:
        weight = 1 + sum(len(v) for v in p.lines.values()) - (1 if p.lines and line_cols else 0)
        tick(weight)
        if p.data is None or any(line is None for rows_ in p.lines.values()
                                 for _, _, line in rows_):
            return
        data = p.data
        for tname, lrows in p.lines.items():
            data[tname] = [line for _, _, line in lrows]
        # the checked values replace the cells' values; the lines keep their row numbers
        p.data, p.weight = None, weight
        p.lines = {tname: [(n, sheet, None) for n, sheet, _ in lrows]
                   for tname, lrows in p.lines.items()}
        self.batch.append((p, data))
        if len(self.batch) >= CHECK_BATCH:
            self.flush()

    def flush(self) -> None:
        batch, self.batch = self.batch, []
        if not batch:
            return
        result = self.result
        checked = self.engine.check_new_many(self.user, self.form, [data for _, data in batch])
        ready = []
        for (p, _), values in zip(batch, checked):
            try:
                if isinstance(values, LoomError):
                    raise values
                self.taken_by_earlier_row(values)
                ready.append((p, values))
            except ValidationFailed as exc:
                _report(result, p, exc)
            except LoomError as exc:
                result.errors.append(RowError(p.sheet, p.row, str(exc)))
        if self.spool is not None and ready and not result.errors:
            self.spool.add(ready)

    def taken_by_earlier_row(self, values: dict) -> None:
        """A unique value two rows of the file share: the database has neither yet."""
        errors = {}
        for f, to_sql in self.unique:
            value = values.get(f.name)
            if value in (None, ""):
                continue
            key, seen = to_sql(f, value), self.seen[f.name]
            if key in seen:
                errors[f.name] = f"{value} is already used by another record"
            seen.add(key)
        if errors:
            raise ValidationFailed(errors)


def _write(engine, user, form: str, spool: _Spool, result: ImportResult, tick) -> None:
    """The checked records, WRITE_BATCH to a short write transaction (other writers go
    between them); the journal lists what is written, so a failure — or, after a crash,
    the next import — deletes it all again (journal.py)."""
    journal = Journal.start(engine, form, user.name)
    # a form with no workflow is written a batch in a few statements (records/bulk.py)
    bulk = engine.can_create_many(form)
    finished = False
    try:
        for chunk in spool.chunks(BULK_BATCH if bulk else WRITE_BATCH):
            ids = []
            with engine.batch() as savepoint:
                if bulk:
                    try:
                        with savepoint():
                            ids = [r.id for r in engine.create_many_checked(
                                user, form, [values for _, values in chunk])]
                    except (LoomError, sa.exc.DBAPIError):
                        ids = []  # one by one below, to name the row that fails
                if not ids:
                    for p, values in chunk:
                        ids.append(_create(engine, user, form, p, values, result))
                journal.add(ids)
            result.created.extend(ids)
            for p, _ in chunk:
                tick(p.weight)
        journal.finish()
        finished = True
    except _Rollback:
        pass
    finally:
        if not finished:
            journal.undo()
            result.created = []


def _create(engine, user, form: str, p: _Pending, values: dict, result: ImportResult) -> int:
    """One checked record stored; its row's error and _Rollback (the whole import) if not."""
    try:
        return engine.create_checked(user, form, values).id
    except ValidationFailed as exc:  # e.g. a unique value another writer took meanwhile
        _report(result, p, exc)
    except LoomError as exc:
        result.errors.append(RowError(p.sheet, p.row, str(exc)))
    except sa.exc.DBAPIError as exc:  # a constraint the database caught (e.g. unique)
        result.errors.append(RowError(p.sheet, p.row, _db_message(exc)))
    raise _Rollback()


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
    """FORM.lines: append line items to existing parents, named by their title (in the
    caller's transaction; `savepoint` None: a dry run, checked by `Engine.preview`)."""
    form = spec.id
    sheet = f"{form}.{table}"
    if not rows:
        result.errors.append(RowError(sheet, 1, "the file is empty: no header row"))
        return
    cols = _line_columns(spec, spec.field(table), rows[0])
    for msg in cols.problems(column_names(spec.field(table).fields)):
        result.errors.append(RowError(sheet, 1, msg))
    pcol = cols.index(PARENT)
    if pcol is None:
        result.errors.append(RowError(sheet, 1, f"no column naming the {form} of each line "
                                      f"(call it {PARENT})"))
    if cols.problems() or pcol is None:
        return
    groups: dict[int, list] = {}
    for n, row in enumerate(islice(rows, 1, None), start=2):
        if empty_row(row):
            continue
        ref = row[pcol] if pcol < len(row) else None
        pid = resolver(form, ref) if not blank(ref) else None
        if pid is None or pid < 0:
            result.errors.append(RowError(sheet, n, f"no {form} {cell_text(ref)!r}", form))
            continue
        line = _row_values(cols, row, resolver, sheet, n, result)
        groups.setdefault(pid, []).append((n, sheet, line))
    for pid, lines in groups.items():
        tick(len(lines))
        if any(line is None for _, _, line in lines):
            continue
        try:
            rec = engine.get(user, form, pid)
            existing = [dict(r) for r in rec.data.get(table) or []]
            data = {table: existing + [l for _, _, l in lines]}
            if savepoint is None:  # a dry run: what the update would answer, nothing written
                errors = engine.preview(user, form, data, pid).errors
                if errors:
                    raise ValidationFailed(errors)
            else:
                with savepoint():
                    engine.update(user, form, pid, data, version=rec.version)
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


def _db_message(exc: Exception) -> str:
    text = str(getattr(exc, "orig", exc)).splitlines()[0]
    if "unique" in text.lower() or "duplicate" in text.lower():
        return "a record with the same unique value already exists"
    return text
