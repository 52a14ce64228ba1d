"""`loom db migrate-records`: apply the definitions' `migrate:` sections to stored records.

A workflow's `migrate: {steps: {gone: to}}` moves every record still in a
removed step into an existing one — it enters that step as any record would
(its on-enter actions run, its approvers get tasks) and its open tasks in the
removed step are cancelled. A form's `migrate: {rename: {old: new}}` moves
values stored under a removed field's name to the new one, and
`fill: {field: value}` gives records without a value one. Which records is
decided in SQL (state, or the typed column being empty); each batch is one
transaction and each record gets a history entry (`migrate`), so a run can
stop anywhere and be run again: what is done is not found again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import sqlalchemy as sa

from ..auth.users import SYSTEM
from ..errors import LoomError
from ..records.context import StepContext
from ..store import tables as t
from . import tasks
from .moves import enter

BATCH = 200


@dataclass
class Planned:
    form: str
    kind: str  # move | rename | fill
    text: str
    source: object  # the definition's Source
    args: tuple = ()  # move: (old step, new step); rename: (old, new); fill: (field, Value)
    records: int = 0
    done: int = 0
    failed: list = field(default_factory=list)  # (record id, message)

    def as_json(self) -> dict:
        src = self.source
        return {"form": self.form, "kind": self.kind, "text": self.text, "records": self.records,
                "done": self.done, "failed": [{"id": i, "message": m} for i, m in self.failed],
                "file": getattr(src, "file", None), "line": getattr(src, "line", None)}


def plan(flow) -> list[Planned]:
    """Every `migrate:` item with how many records it would touch now (SQL counts): the
    forms' renames and fills first, so a record moved into a step already has the values
    that step needs."""
    out = []
    with flow.db.read() as conn:
        for form in flow.rt.defs.forms.values():
            if form.migrate is None:
                continue
            for old, new in form.migrate.rename:
                n = len(_rename_ids(flow, conn, form.id, old, new))
                out.append(Planned(form.id, "rename", f"{form.id}: field {old} renamed to {new}",
                                   form.migrate.source, (old, new), n))
            for name, slot in form.migrate.fill:
                n = conn.execute(sa.select(sa.func.count()).select_from(
                    _empty(flow, form.id, name))).scalar()
                out.append(Planned(form.id, "fill", f"{form.id}: {name} filled where empty",
                                   form.migrate.source, (name, slot), n))
        for wf in flow.rt.defs.workflows.values():
            for old, new in wf.migrate:
                n = conn.execute(sa.select(sa.func.count()).select_from(t.records).where(
                    t.records.c.form == wf.form, t.records.c.state == old)).scalar()
                out.append(Planned(wf.form, "move", f"{wf.form}: records in removed step {old} "
                                   f"enter {new}", wf.source, (old, new), n))
    return out


def migrate_records(flow, dry_run: bool = False, batch: int = BATCH,
                    progress: Callable[[Planned], None] | None = None) -> list[Planned]:
    """Apply every `migrate:` item; with `dry_run`, only count. A record the definitions
    refuse (a rule, no approvers) is left as it was and listed with the reason."""
    items = plan(flow)
    if dry_run:
        return items
    for item in items:
        a, b = item.args
        if item.kind == "move":
            _batches(flow, item, lambda conn: _ids(conn, item.form, a),
                     lambda conn, rec, now: _move(flow, conn, rec, b, now), batch)
        elif item.kind == "rename":
            _batches(flow, item, lambda conn: _rename_ids(flow, conn, item.form, a, b),
                     lambda conn, rec, now: _rename(flow, conn, rec, a, b, now), batch)
        else:
            _batches(flow, item, lambda conn: list(conn.execute(
                sa.select(_empty(flow, item.form, a).c.id)).scalars()),
                lambda conn, rec, now: _fill(flow, conn, rec, a, b, now), batch)
        if progress:
            progress(item)
    return items


def _batches(flow, item: Planned, find, apply, batch: int) -> None:
    skip: set[int] = set()
    while True:
        with flow.db.read() as conn:
            ids = [i for i in find(conn) if i not in skip][:batch]
        if not ids:
            return
        with flow.db.write() as conn:
            now = flow.clock.now()
            for rid in ids:
                savepoint = conn.begin_nested()
                try:
                    rec = flow.reader.get(conn, SYSTEM, item.form, rid, lock=True)
                    apply(conn, rec, now)
                    savepoint.commit()
                    item.done += 1
                except LoomError as exc:
                    savepoint.rollback()
                    item.failed.append((rid, str(exc)))
                    skip.add(rid)


def _ids(conn, form: str, state: str) -> list[int]:
    return list(conn.execute(sa.select(t.records.c.id).where(
        t.records.c.form == form, t.records.c.state == state).order_by(t.records.c.id)).scalars())


def _empty(flow, form: str, name: str):
    """The records whose typed column `name` is empty, as a subquery with `id`."""
    table = flow.rt.typed[form].table
    col = table.c[name]
    return sa.select(table.c._id.label("id")).where(col.is_(None)).subquery()


def _rename_ids(flow, conn, form: str, old: str, new: str) -> list[int]:
    """Records still holding a value under `old` and none under `new`: the typed column of
    `new` is empty in SQL; the stored JSON is then read for those only."""
    rows = conn.execute(sa.select(t.records.c.id, t.records.c.data).where(
        t.records.c.form == form, t.records.c.id.in_(sa.select(_empty(flow, form, new).c.id)))
        .order_by(t.records.c.id)).all()
    return [rid for rid, data in rows if (data or {}).get(old) not in (None, "")]


def _move(flow, conn, rec, dest: str, now) -> None:
    tasks.cancel_active(conn, rec.id, now, step=rec.state)
    values, detail = enter(flow, conn, SYSTEM, rec, dest, rec.values(), now)
    flow.writer.update(conn, SYSTEM, rec, values, now, state=dest, action="migrate",
                       comment=f"moved from removed step {rec.state}", detail=detail, entered=True)


def _rename(flow, conn, rec, old: str, new: str, now) -> None:
    raw = dict(rec.json_data)
    raw[new] = raw.pop(old)
    values = flow.rt.forms[rec.form].load(raw)
    flow.writer.update(conn, SYSTEM, rec, values, now, action="migrate",
                       comment=f"field {old} renamed to {new}")


def _fill(flow, conn, rec, name: str, slot, now) -> None:
    runtime = flow.rt.forms[rec.form]
    ctx = StepContext(flow.tools, conn, SYSTEM, rec, rec.state, rec.values(), now)
    raw = {name: ctx.value(slot)}
    try:
        raw = runtime.dump(raw)
    except Exception:  # noqa: BLE001 - a value the dumper does not take: prepare parses it
        pass
    values = runtime.prepare(raw, user=SYSTEM, existing=rec.values(),
                             services=flow.reader.services(conn, SYSTEM), system=True)
    flow.writer.update(conn, SYSTEM, rec, values, now, action="migrate",
                       comment=f"{name} filled by the definitions' migrate section")


def affected(db, old, new, differences) -> list[int | None]:
    """For each difference (engine/definitions/diff.py), how many live records it touches:
    those in its step, else those holding a value in its field, else every live record
    of its form (not in a final step). None where it touches no records."""
    out: list[int | None] = []
    with db.read() as conn:
        for d in differences:
            if d.form is None or d.kind not in ("form", "workflow"):
                out.append(None)
                continue
            q = sa.select(sa.func.count()).select_from(t.records).where(t.records.c.form == d.form)
            if d.step is not None:
                q = q.where(t.records.c.state == d.step)
            else:
                finals = {s.name for defs in (old, new) if (wf := defs.workflow_for(d.form))
                          for s in wf.steps.values() if s.final}
                if finals:
                    q = q.where(sa.or_(t.records.c.state.is_(None), t.records.c.state.not_in(finals)))
                if d.field is not None:
                    q = q.where(t.records.c.data[d.field].as_string().is_not(None))
            out.append(conn.execute(q).scalar())
    return out
