"""Typed storage per form: one column per declared field, kept in step with
the record's JSON in the same transaction.

Why: reports and alert scans aggregate declared fields over millions of rows.
A GROUP BY over json_extract() of a JSON blob is ~4x slower than typed
columns on SQLite (see README.md beside this file for the numbers), so every
form gets `t_<form>` (and `t_<form>__<table>` per line-item table) with real
columns and real indexes; filters, reports and alert scans read these.
Exact decimals are scaled BIGINTs, so SUM is exact on SQLite as well.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Iterable, Mapping

import sqlalchemy as sa

from . import tables as fixed
from .hot import Hot
from .line_ids import give_line_ids

SYSTEM_COLUMNS = ("_id", "_number", "_state", "_owner", "_created_at", "_updated_at")


def table_name(form_id: str, table_field: str | None = None) -> str:
    name = f"t_{form_id}" + (f"__{table_field}" if table_field else "")
    if len(name) > 60:  # PostgreSQL truncates identifiers at 63 bytes
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]
        name = f"{name[:51]}_{digest}"
    return name


class TypedForm:
    """The typed tables of one form and how to write a record into them."""

    def __init__(self, form, field_types, metadata: sa.MetaData):
        self.form = form
        self.field_types = field_types
        self.fields = [f for f in form.fields if not f.is_table and self._typed(f)]
        # (name, spec, the type's to_sql) per typed field, looked up once: `row` runs per write
        self._converters = tuple((f.name, f, field_types[f.type].to_sql) for f in self.fields)
        cols = [
            sa.Column("_id", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("_number", sa.String(128)),
            sa.Column("_state", sa.String(64)),
            sa.Column("_owner", sa.String(128)),
            sa.Column("_created_at", sa.DateTime),
            sa.Column("_updated_at", sa.DateTime),
        ]
        cols += [sa.Column(f.name, field_types[f.type].sql_type(f)) for f in self.fields]
        name = table_name(form.id)
        # A unique index is the guarantee; the engine's pre-check only gives the nice message.
        self.unique = [f.name for f in self.fields if f.unique]
        # a unique field's index serves its lookups too: a plain one beside it would only
        # cost every write one more B-tree (sync drops it from databases that have it)
        indexed = [i for i in form.indexes if i in {f.name for f in self.fields} | {"state", "owner"}
                   and i not in self.unique]
        idx = [sa.Index(f"ix_{name}_state", "_state"), sa.Index(f"ix_{name}_owner", "_owner")]
        idx += [sa.Index(_index_name(name, i), {"state": "_state", "owner": "_owner"}.get(i, i))
                for i in indexed if i not in ("state", "owner")]
        idx += [sa.Index(_index_name("u" + name, f), f, unique=True) for f in self.unique]
        self.table = sa.Table(name, metadata, *cols, *idx)
        self.lines: dict[str, tuple[sa.Table, list]] = {}
        for t in form.tables:
            lfields = [f for f in t.fields if not f.is_table and self._typed(f)]
            lname = table_name(form.id, t.name)
            ltable = sa.Table(
                lname, metadata,
                sa.Column("_record_id", sa.BigInteger, primary_key=True, autoincrement=False),
                sa.Column("_position", sa.Integer, primary_key=True, autoincrement=False),
                # the line's stable `_id` (engine/forms/lines.py): SQL finds a line, and its
                # record, by id alone
                sa.Column("line_id", sa.String(32)),
                *[sa.Column(f.name, field_types[f.type].sql_type(f)) for f in lfields],
            )
            sa.Index(_index_name(lname, "line_id"), ltable.c.line_id)
            self.lines[t.name] = (ltable, lfields)
        # the same per table's cells: `_line_row` runs per line written
        self._line_converters = {n: tuple((f.name, f, field_types[f.type].to_sql) for f in lf)
                                 for n, (_, lf) in self.lines.items()}
        # statements built once (see repository.py for why)
        self._insert = Hot(self.table.insert())
        self._update = Hot(self.table.update().where(self.table.c._id == sa.bindparam("b_id")))
        self._line_insert = {n: Hot(lt.insert()) for n, (lt, _) in self.lines.items()}
        self._line_delete = {n: Hot(lt.delete().where(lt.c._record_id == sa.bindparam("b_id")))
                             for n, (lt, _) in self.lines.items()}
        self._line_update = {n: Hot(lt.update().where(lt.c._record_id == sa.bindparam("b_rid"),
                                                      lt.c._position == sa.bindparam("b_pos")))
                             for n, (lt, _) in self.lines.items()}

    def _typed(self, f) -> bool:
        ft = self.field_types.get(f.type)
        return ft is not None and ft.typed and ft.sql_type(f) is not None

    def signature(self, table: sa.Table) -> str:
        desc = [(c.name, repr(c.type)) for c in table.columns]
        return hashlib.sha256(json.dumps(desc).encode()).hexdigest()[:16]

    def all_tables(self) -> list[sa.Table]:
        return [self.table] + [t for t, _ in self.lines.values()]

    def row(self, rec: Mapping[str, Any], values: Mapping[str, Any]) -> dict:
        out = {"_id": rec["id"], "_number": rec.get("number"), "_state": rec.get("state"),
               "_owner": rec.get("owner"), "_created_at": rec.get("created_at"),
               "_updated_at": rec.get("updated_at")}
        get = values.get
        for name, spec, to_sql in self._converters:
            out[name] = to_sql(spec, get(name))
        return out

    def line_rows(self, record_id: int, table_field: str, lines: Iterable[Mapping]) -> list[dict]:
        return [self._line_row(record_id, table_field, i, line)
                for i, line in enumerate(lines or [])]

    def _line_row(self, record_id: int, table_field: str, position: int, line: Mapping) -> dict:
        out = {"_record_id": record_id, "_position": position, "line_id": line.get("_id")}
        get = line.get
        for name, spec, to_sql in self._line_converters[table_field]:
            out[name] = to_sql(spec, get(name))
        return out

    def insert(self, conn: sa.Connection, rec: Mapping, values: Mapping) -> None:
        self._insert.execute(conn, self.row(rec, values))
        for name, (ltable, _) in self.lines.items():
            rows = self.line_rows(rec["id"], name, values.get(name))
            if rows:
                self._line_insert[name].many(conn, rows)

    def remove(self, conn: sa.Connection, record_id: int) -> None:
        """Drop the record's typed and line rows (it went to the trash; `insert` brings them back)."""
        for name in self.lines:
            self._line_delete[name].rowcount(conn, {"b_id": record_id})
        conn.execute(self.table.delete().where(self.table.c._id == record_id))

    def update(self, conn: sa.Connection, rec: Mapping, values: Mapping,
               changed: Iterable[str] | Mapping | None = None) -> None:
        """The record's typed row and the line rows of the tables in `changed` (None: all).
        `changed` may be the write's diff (forms/lines.py `line_diff` per table): a table
        whose lines only changed in place rewrites just those lines' rows."""
        row = self.row(rec, values)
        row["b_id"] = row.pop("_id")
        self._update.execute(conn, row)
        how = changed if isinstance(changed, Mapping) else {}
        changed = set(changed) if changed is not None else None
        for name in self.lines:
            if changed is not None and name not in changed:
                continue
            lines = how.get(name)
            if isinstance(lines, Mapping) and lines.keys() == {"changed"}:
                # same lines in the same places: each changed one is updated where it is
                rows = values.get(name) or []
                for line in lines["changed"]:
                    pos = line["at"] - 1
                    lrow = self._line_row(rec["id"], name, pos, rows[pos])
                    lrow["b_rid"], lrow["b_pos"] = lrow.pop("_record_id"), lrow.pop("_position")
                    self._line_update[name].execute(conn, lrow)
                continue
            self._line_delete[name].rowcount(conn, {"b_id": rec["id"]})
            rows = self.line_rows(rec["id"], name, values.get(name))
            if rows:
                self._line_insert[name].many(conn, rows)


def _index_name(table: str, column: str) -> str:
    name = f"ix_{table}_{column}"
    if len(name) > 60:
        name = name[:51] + "_" + hashlib.sha1(name.encode()).hexdigest()[:8]
    return name


class TypedStore:
    """Typed tables for every form of the loaded definitions."""

    def __init__(self, defs, field_types):
        self.metadata = sa.MetaData()
        self.forms: dict[str, TypedForm] = {
            fid: TypedForm(form, field_types, self.metadata) for fid, form in defs.forms.items()
        }

    def __getitem__(self, form_id: str) -> TypedForm:
        return self.forms[form_id]

    def sync(self, conn: sa.Connection, load_values) -> list[str]:
        """Create or rebuild typed tables whose shape changed; returns the rebuilt ones.

        `load_values(form_id, data_json)` turns a stored record's JSON into Python values.
        """
        rebuilt = []
        known = {r.name: r for r in conn.execute(sa.select(fixed.typed_tables))}
        inspector = sa.inspect(conn)
        existing = set(inspector.get_table_names())
        for fid, tf in self.forms.items():
            tables = tf.all_tables()
            sigs = {t.name: tf.signature(t) for t in tables}
            indexes = {t.name: ",".join(sorted(i.name for i in t.indexes)) for t in tables}
            fresh = all(t.name in existing and t.name in known and known[t.name].signature == sigs[t.name]
                        for t in tables)
            if fresh:
                for t in tables:
                    if known[t.name].indexes != indexes[t.name]:
                        self._sync_indexes(conn, t, inspector)
                        self._remember(conn, t.name, sigs[t.name], indexes[t.name], known)
                continue
            for t in reversed(tables):
                t.drop(conn, checkfirst=True)
            for t in tables:
                t.create(conn)
                self._remember(conn, t.name, sigs[t.name], indexes[t.name], known)
            self._backfill(conn, tf, load_values)
            rebuilt.append(fid)
        return rebuilt

    def _remember(self, conn, name, sig, indexes, known) -> None:
        if name in known:
            conn.execute(fixed.typed_tables.update().where(fixed.typed_tables.c.name == name)
                         .values(signature=sig, indexes=indexes))
        else:
            conn.execute(fixed.typed_tables.insert().values(name=name, signature=sig, indexes=indexes))

    def _sync_indexes(self, conn, table: sa.Table, inspector) -> None:
        have = {i["name"] for i in inspector.get_indexes(table.name)}
        want = {i.name for i in table.indexes}
        for name in have - want:
            if name and name.startswith("ix_"):
                conn.execute(sa.text(f'DROP INDEX IF EXISTS "{name}"'))
        for index in table.indexes:
            if index.name not in have:
                index.create(conn)

    def _backfill(self, conn, tf: TypedForm, load_values, batch: int = 2000) -> None:
        r = fixed.records
        last = 0
        while True:
            rows = conn.execute(
                sa.select(r.c.id, r.c.number, r.c.state, r.c.owner, r.c.created_at, r.c.updated_at,
                          r.c.data).where(r.c.form == tf.form.id, r.c.id > last,
                                          r.c.deleted_at.is_(None))  # the trash has no typed rows
                .order_by(r.c.id).limit(batch)).mappings().all()
            if not rows:
                return
            main, lines = [], {name: [] for name in tf.lines}
            for row in rows:
                data = row["data"]
                # rows stored before line ids existed get theirs here, once, for good
                patched = give_line_ids(data, tf.lines) if tf.lines else None
                if patched is not None:
                    conn.execute(r.update().where(r.c.id == row["id"]).values(data=patched))
                    data = patched
                values = load_values(tf.form.id, data)
                main.append(tf.row(row, values))
                for name in tf.lines:
                    lines[name].extend(tf.line_rows(row["id"], name, values.get(name)))
            conn.execute(tf.table.insert(), main)
            for name, lrows in lines.items():
                if lrows:
                    conn.execute(tf.lines[name][0].insert(), lrows)
            last = rows[-1]["id"]
