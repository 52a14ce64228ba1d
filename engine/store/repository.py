"""Record persistence: JSON row, typed projection, event log, counters.

Every method takes the connection of the caller's transaction, so a record,
its typed rows, its event and its number counter commit together or not at all.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable, Mapping

import sqlalchemy as sa

from ..errors import Conflict, NotFound
from . import tables as t
from .transaction import tx_cache
from .hot import Hot
from .typed import TypedStore
from .upsert import insert_for


# Hot statements are built once: building a statement and its cache key costs
# about twice as much as running it (measured: 86 µs vs 28 µs per fetch).
_B = sa.bindparam
_FETCH_ANY = sa.select(t.records).where(t.records.c.id == _B("b_id"), t.records.c.form == _B("b_form"))
_FETCH_ANY_FOR_UPDATE = Hot(_FETCH_ANY.with_for_update())
# a record in the trash is no record, except to the trash itself (`deleted=True`)
_FETCH = _FETCH_ANY.where(t.records.c.deleted_at.is_(None))
_FETCH_FOR_UPDATE = Hot(_FETCH.with_for_update())
_FETCH_ANY, _FETCH = Hot(_FETCH_ANY), Hot(_FETCH)
_INSERT = Hot(t.records.insert().returning(t.records.c.id))
_UPDATE = Hot(t.records.update()
               .where(t.records.c.id == _B("b_id"), t.records.c.version == _B("b_version"))
               .values(data=_B("b_data", type_=t.records.c.data.type), state=_B("b_state"),
                       owner=_B("b_owner"), version=_B("b_new_version"), updated_at=_B("b_now")))
_VERSION = sa.select(t.records.c.version).where(t.records.c.id == _B("b_id"))
_EVENT = Hot(t.events.insert().returning(t.events.c.id))


class Repository:
    def __init__(self, dialect: str, typed: TypedStore):
        self.dialect = dialect
        self.typed = typed
        ins = insert_for(dialect, t.counters)
        self._next_number = Hot(ins.values(form=_B("b_form"), key=_B("b_key"), value=_B("b_n")) \
            .on_conflict_do_update(index_elements=["form", "key"],
                                   set_={"value": t.counters.c.value + _B("b_n")}) \
            .returning(t.counters.c.value))

    # --- numbering ---------------------------------------------------------

    def next_number(self, conn: sa.Connection, form: str, key: str, n: int = 1) -> int:
        """The next value of a per-form counter, taken inside the caller's transaction; with
        `n`, the counter moves by `n` (a batch's numbers) and the last of them is answered.

        The counter row is locked until commit, so concurrent creators queue;
        a rolled-back create leaves a gap, never a duplicate.
        """
        return self._next_number.scalar(conn, {"b_form": form, "b_key": key, "b_n": n})

    # --- records -----------------------------------------------------------

    def insert(self, conn: sa.Connection, *, form: str, number: str | None, state: str | None,
               data: dict, values: Mapping, owner: str, now: datetime,
               definition_version: str | None) -> dict:
        row = {"form": form, "number": number, "state": state, "data": data, "version": 1,
               "owner": owner, "created_at": now, "updated_at": now,
               "definition_version": definition_version}
        rid = _INSERT.scalar(conn, row)
        row["id"] = rid
        tx_cache(conn)[("record", rid)] = dict(row)
        self.typed[form].insert(conn, row, values)
        return row

    def update(self, conn: sa.Connection, current: Mapping, *, data: dict, values: Mapping,
               state: str | None, now: datetime, expected_version: int | None,
               changed: Iterable[str] | Mapping | None = None, owner: str | None = None) -> dict:
        """Write a new version; a stale `expected_version` raises Conflict and writes nothing.
        `changed`: the fields that changed, or the write's diff (typed.py rewrites only the
        line rows that changed in place). `owner`: the record's new owner (a hand-over), else
        it keeps its owner."""
        version = current["version"]
        owner = owner or current["owner"]
        if expected_version is not None and expected_version != version:
            raise Conflict(f"the record was changed by someone else (now version {version}); "
                           "reload it and try again", current_version=version)
        matched = _UPDATE.rowcount(conn, {
            "b_id": current["id"], "b_version": version, "b_data": data, "b_state": state,
            "b_new_version": version + 1, "b_now": now, "b_owner": owner})
        if matched != 1:
            latest = conn.execute(_VERSION, {"b_id": current["id"]}).scalar()
            raise Conflict("the record was changed by someone else; reload it and try again",
                           current_version=latest)
        row = {**current, "data": data, "state": state, "version": version + 1, "updated_at": now,
               "owner": owner}
        cache = tx_cache(conn)
        key = ("record", current["id"])
        cached = cache.pop(key, None)
        if cached is not None and cached["version"] == version:
            # callers may pass a partial or API-shaped `current`: keep the row as read
            cache[key] = {**cached, "data": data, "state": state, "version": version + 1,
                          "updated_at": now, "owner": owner}
        self.typed[current["form"]].update(conn, row, values, changed)
        return row

    def fetch(self, conn: sa.Connection, form: str, record_id: int, *, lock: bool = False,
              deleted: bool = False) -> dict:
        """The record row; read once per transaction (what it wrote, it has). A record in
        the trash is NotFound unless `deleted` (the trash's own reads and restore).

        A locking fetch on PostgreSQL always runs its SELECT … FOR UPDATE; on
        SQLite the write transaction (BEGIN IMMEDIATE) already excludes every
        other writer, so the remembered row is the row.
        """
        cache = tx_cache(conn)
        key = ("record", record_id)
        pg_lock = lock and self.dialect == "postgresql"
        if not pg_lock:
            hit = cache.get(key)
            if hit is not None:
                if hit["form"] != form or (hit.get("deleted_at") is not None and not deleted):
                    raise NotFound(f"no {form} record with id {record_id}")
                return dict(hit)
        if deleted:
            q = _FETCH_ANY_FOR_UPDATE if pg_lock else _FETCH_ANY
        else:
            q = _FETCH_FOR_UPDATE if pg_lock else _FETCH
        row = q.first_mapping(conn, {"b_id": record_id, "b_form": form})
        if row is None:
            raise NotFound(f"no {form} record with id {record_id}")
        cache[key] = row
        return dict(row)

    def fetch_many(self, conn: sa.Connection, ids: list[int]) -> dict[int, dict]:
        if not ids:
            return {}
        rows = conn.execute(sa.select(t.records).where(t.records.c.id.in_(ids),
                                                       t.records.c.deleted_at.is_(None))).mappings()
        return {r["id"]: dict(r) for r in rows}

    # --- events ------------------------------------------------------------

    def append_event(self, conn: sa.Connection, *, record_id: int, form: str, at: datetime,
                     actor: str, action: str, from_state: str | None = None,
                     to_state: str | None = None, comment: str | None = None,
                     task_id: int | None = None, version: int | None = None,
                     diff: dict | None = None, detail: dict | None = None) -> int:
        return _EVENT.scalar(conn, {
            "record_id": record_id, "form": form, "at": at, "actor": actor, "action": action,
            "from_state": from_state, "to_state": to_state, "comment": comment,
            "task_id": task_id, "version": version, "diff": diff, "detail": detail})

    def events(self, conn: sa.Connection, record_id: int) -> list[dict]:
        return [dict(r) for r in conn.execute(
            sa.select(t.events).where(t.events.c.record_id == record_id).order_by(t.events.c.id)
        ).mappings()]
