"""Many new records of one form in a few statements: what `RecordWriter.insert` writes, in bulk.

    records = insert_many(writer, conn, user, "contact", [values, ...], now)

For every record it writes exactly the rows `RecordWriter.insert` writes — the
JSON row, its typed row, its line rows, its `create` event, its number — and
keeps every rule that path keeps: the form's `validate` rules are checked per
record, `unique` values are checked under the write lock (one query per field
for the whole batch, plus the batch itself; on SQLite by the typed table's unique
indexes as its rows go in, the query only to name a refused value), and the number counter moves once
per key by the batch's count, so numbers are gap-free and in the order given.
Only the statements are fewer: one executemany per table instead of one
INSERT per row. The change sink hears each `create` after the batch's rows
are in, in the order given, in the same transaction (`writer.sink_many` when the
engine wires one: alerts then write the batch's traces together).

Forms with a workflow are not written here: entering the start step runs the
step's on-enter actions record by record (`WorkflowService.create_record`).
"""
from __future__ import annotations

from collections import Counter
from typing import Mapping, Sequence

import sqlalchemy as sa

from ..errors import ValidationFailed
from ..forms.numbering import counter_key, format_number
from ..store import tables as t
from ..store.transaction import Savepoint, tx_cache
from ..store.hot import Hot
from . import Change, Record

_RECORDS = t.records.insert().returning(t.records.c.id, sort_by_parameter_order=True)
_RECORDS_MANY = Hot(t.records.insert())
_LAST_ID = Hot(sa.select(sa.func.last_insert_rowid()))
_EVENTS = Hot(t.events.insert())


def can_insert_many(rt, form_id: str) -> bool:
    """Whether `insert_many` writes this form: it has no workflow (no start step to enter)."""
    return rt.defs.workflow_for(form_id) is None and form_id not in rt.machines


def insert_many(writer, conn, user, form_id: str, batch: Sequence[Mapping], now) -> list[Record]:
    """Store validated values (as `check_new` answers them) as new records, in the caller's
    transaction; the records in the order given. ValidationFailed (nothing of the batch
    kept by the caller's rollback) when a rule or a unique value refuses one of them."""
    rt = writer.rt
    if not can_insert_many(rt, form_id):
        raise ValueError(f"form {form_id} has a workflow: create its records one by one")
    if not batch:
        return []
    form = rt.defs.form(form_id)
    runtime = rt.forms[form_id]
    typed = rt.typed[form_id]
    values_list = [runtime.identify_lines(v, None) for v in batch]
    if runtime.has_rules:
        for values in values_list:
            writer.check_rules(conn, user, form_id, None, values)
    # SQLite: the typed table's unique indexes refuse a taken value as the typed rows go in
    # (`_insert_typed`); elsewhere a refused statement spoils the transaction, so ask first
    by_index = conn.dialect.name == "sqlite"
    if not by_index:
        _check_unique(rt, conn, form_id, values_list)
    numbers = _numbers(rt, conn, form, values_list, now) if form.number else [None] * len(batch)
    rows = [{"form": form_id, "number": number, "state": None, "data": runtime.dump(values),
             "version": 1, "owner": user.name, "created_at": now, "updated_at": now,
             "definition_version": None}
            for number, values in zip(numbers, values_list)]
    ids = _insert_records(conn, rows)
    cache = tx_cache(conn)
    typed_rows, line_rows = [], {name: [] for name in typed.lines}
    for rid, row, values in zip(ids, rows, values_list):
        row["id"] = rid
        cache[("record", rid)] = dict(row)
        typed_rows.append(typed.row(row, values))
        for name in typed.lines:
            line_rows[name].extend(typed.line_rows(rid, name, values.get(name)))
    if by_index and typed.unique:
        _insert_typed(rt, conn, form_id, typed, typed_rows, values_list)
    else:
        typed._insert.many(conn, typed_rows)
    for name, lrows in line_rows.items():
        typed._line_insert[name].many(conn, lrows)
    records = [writer.reader.new_record(row, values) for row, values in zip(rows, values_list)]
    _EVENTS.many(conn, [
        {"record_id": rec.id, "form": form_id, "at": now, "actor": user.name, "action": "create",
         "from_state": None, "to_state": rec.state, "comment": None, "task_id": None,
         "version": rec.version, "diff": runtime.created_diff(values, row["data"]) or None,
         "detail": None}
        for rec, row, values in zip(records, rows, values_list)])
    changes = [Change("create", form_id, user, None, rec, rec.state, conn) for rec in records]
    sink_many = getattr(writer, "sink_many", None)
    if sink_many is not None:
        sink_many(changes)
    else:
        for change in changes:
            writer.sink(change)
    return records


def _insert_records(conn, rows: list[dict]) -> list[int]:
    """INSERT the records' rows; their ids, in the order given. SQLite's RETURNING has no
    order, so SQLAlchemy would send a row at a time: there one executemany instead, and the
    ids are the run ending at `last_insert_rowid()` — the write transaction (BEGIN IMMEDIATE)
    holds the lock, and each new rowid is the largest so far plus one."""
    if conn.dialect.name != "sqlite":
        return conn.execute(_RECORDS, rows).scalars().all()
    _RECORDS_MANY.many(conn, rows)
    last = _LAST_ID.scalar(conn, {})
    return list(range(last - len(rows) + 1, last + 1))


def _insert_typed(rt, conn, form_id: str, typed, rows: list, values_list: list) -> None:
    """The batch's typed rows, their unique indexes the check (one SELECT per unique field and
    500 records saved, ~6 µs a record of an import): when an index refuses a row, the rows
    are taken back (a savepoint: the executemany kept those before it) and `_check_unique`
    names the value as it would have before the insert; anything else is raised as it came."""
    savepoint = Savepoint(conn)
    try:
        typed._insert.many(conn, rows)
    except sa.exc.IntegrityError:
        savepoint.rollback()
        _check_unique(rt, conn, form_id, values_list)
        raise
    savepoint.commit()


def _check_unique(rt, conn, form_id: str, values_list: list) -> None:
    """`RecordWriter.check_unique` for a batch: a value another record has, or two of the batch
    share, refuses the batch (naming the value)."""
    for errors in taken(rt, conn, form_id, values_list).values():
        raise ValidationFailed(errors)


def taken(rt, conn, form_id: str, values_list: Sequence[Mapping]) -> dict[int, dict[str, str]]:
    """Unique values of a batch of new records that are already used — by a stored record or
    by an earlier record of the batch: {index in the batch: {field: message}}. One SELECT per
    unique field and 500 values (`RecordWriter.check_unique` runs one per record)."""
    tf = rt.typed[form_id]
    form = rt.defs.form(form_id)
    out: dict[int, dict[str, str]] = {}
    for name in tf.unique:
        field = form.field(name)
        to_sql = rt.registries.field_types[field.type].to_sql
        wanted: dict = {}  # SQL value → first index holding it
        for i, values in enumerate(values_list):
            value = values.get(name)
            if value in (None, ""):
                continue
            key = to_sql(field, value)
            if key in wanted:
                out.setdefault(i, {})[name] = f"{value} is already used by another record"
            else:
                wanted[key] = i
        col = tf.table.c[name]
        keys = list(wanted)
        for start in range(0, len(keys), 500):  # bound the IN list (SQLite's variable limit)
            for (used,) in conn.execute(sa.select(col).where(col.in_(keys[start:start + 500]))):
                i = wanted[used]
                out.setdefault(i, {})[name] = \
                    f"{values_list[i].get(name)} is already used by another record"
    return dict(sorted(out.items()))


def _numbers(rt, conn, form, values_list: list, now) -> list[str]:
    """The batch's numbers: each counter key moved once by its count (`Repository.next_number`
    with `n`: the counter row, locked until commit), then handed out in the batch's order."""
    keys = [counter_key(form.number, now, values) for values in values_list]
    last = {key: rt.repo.next_number(conn, form.id, key, n) for key, n in Counter(keys).items()}
    nxt = {key: last[key] - n + 1 for key, n in Counter(keys).items()}
    out = []
    for key, values in zip(keys, values_list):
        out.append(format_number(form.number, nxt[key], now, values))
        nxt[key] += 1
    return out
