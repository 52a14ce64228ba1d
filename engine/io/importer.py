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
row, having written nothing. Then the checked records are written
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
from dataclasses import dataclass, field
from itertools import islice
from typing import Callable

import sqlalchemy as sa

from ..errors import LoomError, NotFound, PermissionDenied, ValidationFailed
from .cells import blank, cell_text, from_cell
from .columns import (KEY, KEY_WORDS, PARENT, STATE, STATE_WORDS, Columns, column_names,
                      empty_row, reserved)
from .journal import Journal, recover
from .links import LinkResolver
from .readers import read_tables, sibling_csvs
from .results import ImportResult, RowError

PROGRESS_EVERY = 500  # rows between progress calls
WRITE_BATCH = 200  # records per write transaction: the database lock is held this long
# records per write transaction of the bulk path (records/bulk.py): it holds the lock about as
# long as WRITE_BATCH records one by one, and each commit is an fsync saved
BULK_BATCH = 500
CHECK_BATCH = 500  # records checked in one read transaction (linked records read once)
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


def import_file(engine, user, form: str, source, dry_run: bool = False,
                progress: Callable[[int, int], None] | None = None, *,
                format: str | None = None, filename: str | None = None) -> ImportResult:
    """Import `source` (path or binary stream) into `form` or `FORM.table`; all or nothing."""
    parent_id, _, table = form.partition(".")
    spec = engine.defs.form(parent_id)
    if table and (spec.field(table) is None or not spec.field(table).is_table):
        raise NotFound(f"form {parent_id} has no line items called {table!r}")
    sheets = read_tables(source, format, filename)
    if not table and list(sheets) == [""]:
        siblings = sibling_csvs(source, format, [t.name for t in spec.tables])
        if siblings:
            sheets = {parent_id: sheets[""],
                      **{f"{parent_id}.{n}": rows for n, rows in siblings.items()}}
    result = ImportResult(form=form, dry_run=dry_run)
    resolver = LinkResolver(engine, user)
    if not table and not engine.can_create(user, parent_id):
        raise PermissionDenied(f"you may not create {spec.title.get(user.language)} records")

    # Which sheet holds what: the form's own sheet (or the only sheet), and FORM.table sheets.
    main_rows, line_sheets = _pick_sheets(sheets, parent_id, table, spec)
    total = max(0, len(main_rows) - 1) + sum(max(0, len(r) - 1) for r in line_sheets.values())
    result.rows = total
    done = [0]

    def tick(rows: int = 1):
        """Progress counts rows as their records are written (reading is quick)."""
        before = done[0]
        done[0] += rows
        if progress is not None and (done[0] // PROGRESS_EVERY != before // PROGRESS_EVERY
                                     or done[0] == total):
            progress(min(done[0], total), total)

    recover(engine)  # imports whose process died mid-way are undone first
    if table:
        try:  # line items of existing records: one transaction (a dry run writes nothing)
            with contextlib.ExitStack() as stack:
                savepoint = None if dry_run else stack.enter_context(engine.batch())
                _import_lines_only(engine, user, spec, table, main_rows, resolver, result,
                                   savepoint, tick)
                if dry_run or result.errors:
                    raise _Rollback()
        except _Rollback:
            result.updated = []
    else:
        ready = _import_records(engine, user, spec, main_rows, line_sheets, resolver, result,
                                tick if dry_run else None)
        if not dry_run and not result.errors:
            _write(engine, user, spec.id, ready, result, tick)
    if progress is not None and total and done[0] < total:
        progress(total, total)
    result.errors.sort(key=lambda e: (e.sheet != form, e.sheet, e.row))
    return result


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
            own_name = f"{form}.{t.name}"
            k = names.get(own_name) or names.get(own_name[:MAX_SHEET_NAME]) or names.get(t.name) \
                or next((names[n] for n in names if n in _labels_of(t) and names[n] != main_key),
                        None)
            if k is not None:
                lines[t.name] = sheets[k]
    return sheets[main_key], lines


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
    for i, name in cols.map.items():
        if name in skip or i >= len(row) or blank(row[i]):
            continue
        f = cols.fields[name]
        try:
            data[name] = from_cell(resolver.types, f, row[i], resolver)
        except ValueError as exc:
            result.errors.append(RowError(sheet, rownum, str(exc), name))
            ok = False
    return data if ok else None


def _import_records(engine, user, spec, rows, line_sheets, resolver, result,
                    check_tick) -> list[tuple[_Pending, dict]]:
    """Read the rows into records and check each (nothing written); the ones ready to write."""
    form = spec.id
    if not rows:
        result.errors.append(RowError(form, 1, "the file is empty: no header row"))
        return []
    tf = spec.title_field
    # numbered: the number names a record (its title is no field of its own)
    numbered = bool(spec.number) and (tf is None or spec.field(tf) is None)
    cols = Columns(spec.fields, rows[0], reserved(spec.fields, KEY, KEY_WORDS),
                   prefixes=() if line_sheets else [t.name for t in spec.tables],
                   ignored=reserved(spec.fields, STATE, STATE_WORDS)[STATE])
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
        return []
    key_col = cols.index(KEY)
    if key_col is None and tf and not numbered:
        key_col = cols.index(tf)
    pending: list[_Pending] = []
    by_key: dict[str, _Pending] = {}
    flat_table = bool(line_cols)
    for n, row in enumerate(islice(rows, 1, None), start=2):
        if empty_row(row):
            continue
        key = cell_text(row[key_col]) if key_col is not None and key_col < len(row) else None
        p = by_key.get(key) if key and flat_table else None
        if p is None:
            p = _Pending(form, n, _row_values(cols, row, resolver, form, n, result), key=key)
            pending.append(p)
            if key:
                if key in by_key and not flat_table and line_sheets:
                    result.errors.append(RowError(form, n, f"{key!r} appears twice"))
                by_key[key] = p
        for tname, (idx, lc) in line_cols.items():
            cells = [row[i] if i < len(row) else None for i in idx]
            if any(not blank(c) for c in cells):
                line = _row_values(lc, cells, resolver, form, n, result)
                p.lines.setdefault(tname, []).append((n, form, line))
    # Line sheets: each row names its parent by the key used in the first sheet.
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
        for n, row in enumerate(islice(lrows, 1, None), start=2):
            if empty_row(row):
                continue
            ref = cell_text(row[pcol]) if pcol < len(row) else ""
            p = by_key.get(ref)
            if p is None:
                result.errors.append(RowError(sheet, n, f"no {form} {ref!r} in the {form} sheet",
                                              form))
                continue
            line = _row_values(lcols, row, resolver, sheet, n, result)
            p.lines.setdefault(tname, []).append((n, sheet, line))
    # The cells are in the records now: let the rows go before the checked values pile up.
    rows.clear()
    for lrows in line_sheets.values():
        lrows.clear()
    # Check every record with no write lock (a read transaction each): a dry run ends here.
    ready: list[tuple[_Pending, dict]] = []
    unique = [spec.field(n) for n in engine.typed[form].unique]
    seen: set[tuple[str, object]] = set()

    def taken_by_earlier_row(values: dict) -> None:
        """A unique value two rows of the file share: the database has neither yet."""
        errors = {}
        for f in unique:
            value = values.get(f.name)
            if value in (None, ""):
                continue
            key = (f.name, engine.registries.field_types[f.type].to_sql(f, value))
            if key in seen:
                errors[f.name] = f"{value} is already used by another record"
            seen.add(key)
        if errors:
            raise ValidationFailed(errors)

    # Check every record with no write lock, CHECK_BATCH to a read transaction (linked records
    # read once, unique values in one query): a dry run ends here.
    for start in range(0, len(pending), CHECK_BATCH):
        batch = []
        for p in pending[start:start + CHECK_BATCH]:
            weight = 1 + sum(len(v) for v in p.lines.values()) - (1 if p.lines and line_cols else 0)
            if check_tick is not None:
                check_tick(weight)
            if p.data is None or any(line is None for rows_ in p.lines.values()
                                     for _, _, line in rows_):
                continue
            data = p.data
            for tname, lrows in p.lines.items():
                data[tname] = [line for _, _, line in lrows]
            p.data, p.weight = None, weight  # the checked values replace the cells' values
            batch.append((p, data))
        if not batch:
            continue
        checked = engine.check_new_many(user, form, [data for _, data in batch])
        for (p, _), values in zip(batch, checked):
            try:
                if isinstance(values, LoomError):
                    raise values
                taken_by_earlier_row(values)
                ready.append((p, values))
            except ValidationFailed as exc:
                _report(result, p, exc)
            except LoomError as exc:
                result.errors.append(RowError(p.sheet, p.row, str(exc)))
    return ready


def _write(engine, user, form: str, ready: list, result: ImportResult, tick) -> None:
    """The checked records, WRITE_BATCH to a short write transaction (other writers go
    between them); the journal lists what is written, so a failure — or, after a crash,
    the next import — deletes it all again (journal.py)."""
    journal = Journal.start(engine, form, user.name)
    # a form with no workflow is written a batch in a few statements (records/bulk.py)
    bulk = engine.can_create_many(form)
    finished = False
    try:
        size = BULK_BATCH if bulk else WRITE_BATCH
        for start in range(0, len(ready), size):
            chunk, ids = ready[start:start + size], []
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
