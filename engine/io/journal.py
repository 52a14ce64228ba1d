"""The import journal: which records an import running in batches has written, so that a
failed import — or one whose process died — is undone and "all rows or none" holds.

    journal = Journal.start(engine, form, actor)   # a row in `imports`, status running
    with engine.batch():                            # one short write transaction per batch
        ... engine.create_checked(...) ...
        journal.add(ids)                            # the batch's ids, in the same transaction
    journal.finish()                                # done: the list of ids goes
    journal.undo()                                  # or: delete what it wrote, status undone

`recover(engine)` (run at the start of every import) undoes the imports still
`running` whose process is gone: on this host a pid that no longer runs; on any
host one that has not renewed `alive_at` for STALE. What is deleted is what a
new record brings: its row, typed rows (lines too), history events, tasks,
notifications, alert state/traces and outbox rows not yet sent. Not undone: what a start step's on-enter
actions or an alert did to *other* records, and mail already delivered.
"""
from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from ..store import tables as t
from ..store.alert_rows import forget_alerts
from ..store.hot import Hot

STALE = timedelta(minutes=15)  # no batch for this long: the importing process is gone
UNDO_BATCH = 500  # records deleted per short write transaction
_LISTED = Hot(t.import_records.insert())  # a batch's ids in one cursor executemany


def _wall_now() -> datetime:
    # liveness is real time, not the engine's (possibly frozen) business clock
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Journal:
    def __init__(self, engine, import_id: int, form: str):
        self.engine, self.id, self.form = engine, import_id, form

    @classmethod
    def start(cls, engine, form: str, actor: str) -> "Journal":
        now = _wall_now()
        with engine.db.write() as conn:
            import_id = conn.execute(t.imports.insert().values(
                form=form, actor=actor, status="running", host=socket.gethostname(),
                pid=os.getpid(), started_at=now, alive_at=now)).inserted_primary_key[0]
        return cls(engine, import_id, form)

    def add(self, record_ids: list[int]) -> None:
        """Within the batch's write transaction: its records, and that the import lives."""
        with self.engine.db.write() as conn:
            if record_ids:
                _LISTED.many(conn, [{"import_id": self.id, "record_id": r} for r in record_ids])
            conn.execute(t.imports.update().where(t.imports.c.id == self.id)
                         .values(alive_at=_wall_now()))

    def finish(self) -> None:
        with self.engine.db.write() as conn:
            conn.execute(t.imports.update().where(t.imports.c.id == self.id)
                         .values(status="done", finished_at=_wall_now()))
            conn.execute(t.import_records.delete().where(t.import_records.c.import_id == self.id))

    def undo(self) -> int:
        """Delete every record the import wrote, a batch per transaction; how many."""
        return undo(self.engine, self.id, self.form)


def undo(engine, import_id: int, form: str) -> int:
    ir = t.import_records
    typed = engine.typed[form]
    done, gone = 0, set()
    while True:
        with engine.db.write() as conn:
            ids = conn.execute(sa.select(ir.c.record_id).where(ir.c.import_id == import_id)
                               .order_by(ir.c.record_id).limit(UNDO_BATCH)).scalars().all()
            if not ids:
                conn.execute(t.imports.update().where(t.imports.c.id == import_id)
                             .values(status="undone", finished_at=_wall_now()))
                break
            for line_table in typed.all_tables()[1:]:
                conn.execute(line_table.delete().where(line_table.c._record_id.in_(ids)))
            conn.execute(typed.table.delete().where(typed.table.c._id.in_(ids)))
            for table in (t.events, t.tasks, t.notifications):
                conn.execute(table.delete().where(table.c.form == form,
                                                  table.c.record_id.in_(ids)))
            forget_alerts(conn, engine.defs.alert_ids_for(form), ids)
            conn.execute(t.records.delete().where(t.records.c.form == form,
                                                  t.records.c.id.in_(ids)))
            conn.execute(ir.delete().where(ir.c.import_id == import_id, ir.c.record_id.in_(ids)))
            done += len(ids)
            gone.update(ids)
    _drop_mail(engine, form, gone)
    return done


def _drop_mail(engine, form: str, gone: set[int]) -> None:
    """Outbox rows still pending about the deleted records (sent ones cannot be recalled)."""
    o, last = t.outbox, 0
    while gone:
        with engine.db.write() as conn:
            rows = conn.execute(sa.select(o.c.id, o.c.payload)
                                .where(o.c.status == "pending", o.c.id > last)
                                .order_by(o.c.id).limit(UNDO_BATCH)).all()
            if not rows:
                return
            last = rows[-1].id
            drop = [r.id for r in rows if _about(r.payload, form, gone)]
            if drop:
                conn.execute(o.delete().where(o.c.id.in_(drop)))


def _about(payload, form: str, gone: set[int]) -> bool:
    for part in (payload, (payload or {}).get("body")):
        if isinstance(part, dict) and part.get("form") == form and part.get("record_id") in gone:
            return True
    return False


def recover(engine) -> list[int]:
    """Undo the imports whose process died mid-way; their ids."""
    host, now = socket.gethostname(), _wall_now()
    with engine.db.read() as conn:
        running = conn.execute(sa.select(t.imports.c.id, t.imports.c.form, t.imports.c.host,
                                         t.imports.c.pid, t.imports.c.alive_at)
                               .where(t.imports.c.status == "running")).all()
    dead = [r for r in running if now - r.alive_at > STALE
            or (r.host == host and not _pid_alive(r.pid))]
    out = []
    for r in dead:
        if r.form in engine.defs.forms:
            undo(engine, r.id, r.form)
            out.append(r.id)
    return out


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
