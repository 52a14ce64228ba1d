"""The trash: soft-deleted records, in SQL.

A deleted record keeps its `records` row (with `deleted_at`/`deleted_by`), its
history and its tasks; its typed and line rows — the projection lists,
reports, filters, link joins and alert scans read — are dropped, so nothing
but the trash sees it. Restoring rebuilds them from `records.data`; purging
removes the record, its history and its tasks for good.
"""
from __future__ import annotations

from datetime import datetime
from typing import Sequence

import sqlalchemy as sa

from . import tables as t
from .alert_rows import forget_alerts
from .transaction import tx_cache
from .typed import TypedStore

r = t.records
OPEN_TASKS = ("open", "waiting")


def linking(conn: sa.Connection, typed: TypedStore, form_id: str, record_id: int,
            limit: int = 10) -> list[dict]:
    """Live records whose fields or lines link to the record: [{"form", "id", "number"}],
    at most `limit`, one SQL query per link field."""
    out: list[dict] = []
    for fid, tf in typed.forms.items():
        for table, fields, own in [(tf.table, tf.fields, True)] + \
                [(lt, lf, False) for lt, lf in tf.lines.values()]:
            for f in fields:
                if f.to != form_id or f.name not in table.c or len(out) >= limit:
                    continue
                idcol = table.c._id if own else table.c._record_id
                q = (sa.select(r.c.id, r.c.number).distinct().select_from(table.join(r, r.c.id == idcol))
                     .where(table.c[f.name] == record_id, r.c.id != record_id)
                     .order_by(r.c.id).limit(limit - len(out)))
                for row in conn.execute(q):
                    if not any(x["id"] == row.id for x in out):
                        out.append({"form": fid, "id": row.id, "number": row.number})
    return out


def mark(conn: sa.Connection, record_id: int, version: int, by: str | None, now: datetime | None) -> bool:
    """Put the record in the trash (`by`/`now`) or take it out (None, None), as its next
    version; False when the version moved meanwhile."""
    res = conn.execute(r.update().where(r.c.id == record_id, r.c.version == version)
                       .values(deleted_at=now, deleted_by=by, version=version + 1,
                               **({"updated_at": now} if now is not None else {})))
    tx_cache(conn).pop(("record", record_id), None)
    return res.rowcount == 1


def cancel_tasks(conn: sa.Connection, record_id: int, now: datetime) -> list[dict]:
    """Close the record's open and waiting tasks (it left every inbox): [{"id", "status"}]."""
    rows = conn.execute(sa.select(t.tasks.c.id, t.tasks.c.status).where(
        t.tasks.c.record_id == record_id, t.tasks.c.status.in_(OPEN_TASKS))).all()
    if rows:
        conn.execute(t.tasks.update().where(t.tasks.c.id.in_([x.id for x in rows]))
                     .values(status="cancelled", decided_at=now))
    return [{"id": x.id, "status": x.status} for x in rows]


def reopen_tasks(conn: sa.Connection, cancelled: list) -> list[dict]:
    """Give tasks a deletion cancelled their status back (those still cancelled)."""
    out = []
    for task in cancelled:
        if conn.execute(t.tasks.update().where(t.tasks.c.id == task["id"], t.tasks.c.status == "cancelled")
                        .values(status=task["status"], decided_at=None)).rowcount:
            out.append(task)
    return out


def last_deletion(conn: sa.Connection, record_id: int) -> dict | None:
    """The detail of the record's latest `delete` event."""
    row = conn.execute(sa.select(t.events.c.detail).where(
        t.events.c.record_id == record_id, t.events.c.action == "delete")
        .order_by(t.events.c.id.desc()).limit(1)).first()
    return None if row is None else (row.detail or {})


def purge(conn: sa.Connection, record_id: int, alerts: Sequence[str]) -> None:
    """Remove a deleted record with its history, tasks, alert state and messages, for good."""
    conn.execute(t.tasks.delete().where(t.tasks.c.record_id == record_id))
    conn.execute(t.events.delete().where(t.events.c.record_id == record_id))
    forget_alerts(conn, alerts, [record_id])
    # its messages would lead to whichever record takes the id next (SQLite reuses the newest)
    conn.execute(t.notifications.delete().where(t.notifications.c.record_id == record_id))
    conn.execute(r.delete().where(r.c.id == record_id, r.c.deleted_at.is_not(None)))
    tx_cache(conn).pop(("record", record_id), None)


def listing(conn: sa.Connection, forms: list[str], limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    """Deleted records of `forms`, most recently deleted first, and their total."""
    conds = [r.c.deleted_at.is_not(None), r.c.form.in_(forms)]
    total = conn.execute(sa.select(sa.func.count()).select_from(r).where(*conds)).scalar_one()
    rows = conn.execute(sa.select(r).where(*conds).order_by(r.c.deleted_at.desc(), r.c.id.desc())
                        .limit(limit).offset(offset)).mappings().all()
    return [dict(x) for x in rows], total
