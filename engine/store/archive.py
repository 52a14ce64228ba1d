"""The archive tables: moving records there in SQL, and reading them back.

A move is INSERT … SELECT into `archived_records`, `archived_events` and
`archived_tasks`, then DELETE from the live tables (the typed and line rows
first), all in the caller's transaction: a batch moves whole or not at all.
The typed and line rows are a projection of `records.data`, which the archive
keeps whole, so they are dropped, not copied. Moving a record's events is the
one place events leave the `events` table; they arrive unchanged.
"""
from __future__ import annotations

from datetime import datetime
from typing import Sequence

import sqlalchemy as sa

from . import tables as t
from .alert_rows import forget_alerts
from .typed import TypedForm

ar, ae, at = t.archived_records, t.archived_events, t.archived_tasks


def move(conn: sa.Connection, typed: TypedForm, ids: Sequence[int], now: datetime,
         alerts: Sequence[str]) -> int:
    """Move the records `ids` of one form, with their events and tasks, to the archive; the
    state and traces of the form's `alerts` about them go."""
    if not ids:
        return 0
    r = t.records
    ids = list(ids)
    kept = [c for c in r.columns if c.name in ar.c]  # not the trash columns: deleted records stay
    conn.execute(ar.insert().from_select(
        [c.name for c in kept] + ["archived_at"],
        sa.select(*kept, sa.literal(now, sa.DateTime).label("archived_at"))
        .where(r.c.id.in_(ids))))
    conn.execute(ae.insert().from_select(
        [c.name for c in t.events.columns],
        sa.select(*t.events.columns).where(t.events.c.record_id.in_(ids))))
    conn.execute(at.insert().from_select(
        [c.name for c in t.tasks.columns],
        sa.select(*t.tasks.columns).where(t.tasks.c.record_id.in_(ids))))
    for table, _ in typed.lines.values():
        conn.execute(table.delete().where(table.c._record_id.in_(ids)))
    conn.execute(typed.table.delete().where(typed.table.c._id.in_(ids)))
    conn.execute(t.tasks.delete().where(t.tasks.c.record_id.in_(ids)))
    conn.execute(t.events.delete().where(t.events.c.record_id.in_(ids)))
    forget_alerts(conn, alerts, ids)
    return conn.execute(r.delete().where(r.c.id.in_(ids))).rowcount


def lock_live(conn: sa.Connection, ids: Sequence[int]) -> list[int]:
    """Lock the records rows of `ids` that nobody else holds (PostgreSQL); the rest are left."""
    r = t.records
    return list(conn.execute(sa.select(r.c.id).where(r.c.id.in_(list(ids)))
                             .with_for_update(skip_locked=True)).scalars())


def fetch(conn: sa.Connection, form: str, record_id: int) -> dict | None:
    row = conn.execute(sa.select(ar).where(ar.c.id == record_id, ar.c.form == form)).mappings().first()
    return None if row is None else dict(row)


def involved(conn: sa.Connection, user_name: str, record_id: int) -> bool:
    """The user held a task on the archived record, or was copied in."""
    return conn.execute(sa.select(at.c.id).where(at.c.record_id == record_id,
                                                 at.c.assignee == user_name).limit(1)).first() is not None


def events(conn: sa.Connection, record_id: int) -> list[dict]:
    return [dict(r) for r in conn.execute(
        sa.select(ae).where(ae.c.record_id == record_id).order_by(ae.c.id)).mappings()]


def search(conn: sa.Connection, *, form: str | None = None, text: str | None = None,
           limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    """Archived records, newest first: of one form, and/or whose number, owner or any
    field value contains `text` (case-insensitive)."""
    conds = []
    if form:
        conds.append(ar.c.form == form)
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conds.append(sa.or_(ar.c.number.ilike(pattern, escape="\\"),
                            ar.c.owner.ilike(pattern, escape="\\"),
                            sa.cast(ar.c.data, sa.Text).ilike(pattern, escape="\\")))
    rows = conn.execute(sa.select(ar).where(*conds).order_by(ar.c.id.desc())
                        .limit(limit).offset(offset)).mappings().all()
    total = conn.execute(sa.select(sa.func.count()).select_from(ar).where(*conds)).scalar_one()
    return [dict(r) for r in rows], total
