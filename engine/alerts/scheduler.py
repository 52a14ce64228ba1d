"""Scheduled alerts: one SQL scan per tick, exactly once across workers.

A tick is the latest cron time not after now; a tick missed while no worker
ran is caught up once, not once per missed tick. The scan is ONE query: the
alert's `if` compiled to SQL over the form's typed table, plus an anti-join
on `alert_state` (records already fired for this tick, or still active for a
`once` alert). Nothing loops over records in Python.

Exactly once with several workers: a worker first claims the tick in the
`leases` row `alert:<id>` (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's
BEGIN IMMEDIATE serializes the claim). It then fires in batches; each batch
transaction re-locks the lease and checks it still owns it, fires, and writes
`alert_state.last_tick` for the records it fired — so a worker that takes
over an expired lease rescans and skips every record already done. The last
transaction stamps `leases.last_tick` and frees the lease.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from croniter import croniter

from ..auth.users import SYSTEM
from ..expr.sql import where_form
from ..store import tables as t
from ..store.sqlscope import RecordScope
from . import dedup, traces
from .runtime import fire
from ..store.upsert import insert_for

log = logging.getLogger(__name__)

BATCH = 500
LEASE = timedelta(minutes=5)
le = t.leases


@dataclass
class TickResult:
    alert: str
    tick: datetime
    matched: int = 0
    fired: int = 0
    errors: int = 0
    reset: int = 0
    skipped: str | None = None  # why this worker did nothing: done | busy | lost
    scan_seconds: float = 0.0
    outcomes: dict = field(default_factory=dict)


def latest_tick(cron: str, now: datetime) -> datetime:
    """The latest time the schedule names that is not after `now` (minute resolution)."""
    return croniter(cron, now.replace(microsecond=0) + timedelta(seconds=1)).get_prev(datetime)


def lease_name(alert_id: str) -> str:
    return f"alert:{alert_id}"


def scan_query(alerts, rt, tick: datetime):
    """The scan: ids of records matching `if` not yet fired for this tick (or while active)."""
    scope = RecordScope(alerts.rt.typed, alerts.rt.registries.field_types, rt.spec.form,
                        dialect=alerts.db.dialect, user=SYSTEM, clock=alerts.clock)
    if getattr(scope, "env", None) is None:
        scope.env = rt.env
    cond = where_form(rt.spec.if_.compile_sql(scope, alerts.rt.registries.functions).expr) \
        if rt.spec.if_ is not None else sa.true()
    base = scope.base
    matching = sa.select(base.c._id).select_from(scope.from_clause()).where(cond)
    scan = matching.where(dedup.not_done(rt.id, base.c._id, rt.spec.once, tick)).order_by(base.c._id)
    return scan, matching


def run_tick(alerts, rt, tick: datetime, owner: str, stop=None) -> TickResult:
    db = alerts.db
    res = TickResult(rt.id, tick)
    name = lease_name(rt.id)
    _ensure_lease(db, name)
    with db.write() as conn:
        row = _lock(conn, db, name, skip_locked=True)
        now = alerts.clock.now()
        if row is None:
            res.skipped = "busy"
            return res
        if row["last_tick"] is not None and row["last_tick"] >= tick:
            res.skipped = "done"
            return res
        if row["owner"] not in (None, owner) and row["until"] is not None and row["until"] > now:
            res.skipped = "busy"
            return res
        conn.execute(le.update().where(le.c.name == name).values(owner=owner, until=now + LEASE))

    scan, matching = scan_query(alerts, rt, tick)
    started = time.perf_counter()
    with db.read() as conn:
        ids = list(conn.execute(scan).scalars())
    res.scan_seconds = time.perf_counter() - started
    res.matched = len(ids)

    if rt.spec.once:
        with db.write() as conn:
            if not _still_mine(conn, db, name, owner):
                res.skipped = "lost"
                return res
            reset = dedup.reset_false(conn, rt.id, matching)
            now = alerts.clock.now()
            traces.record_many(conn, [
                {"alert": rt.id, "record_id": rid, "at": now, "outcome": "condition_false",
                 "detail": {"trigger": "schedule", "tick": tick, "once": "reset: may fire again"}}
                for rid in reset])
            res.reset = len(reset)

    for start in range(0, len(ids), BATCH):
        if stop is not None and stop():
            _free(db, name, owner, None)
            res.skipped = "stopped"
            return res
        batch = ids[start:start + BATCH]
        with db.write() as conn:
            if not _still_mine(conn, db, name, owner):
                res.skipped = "lost"
                return res
            _fire_batch(alerts, conn, rt, batch, tick, res)
            conn.execute(le.update().where(le.c.name == name)
                         .values(until=alerts.clock.now() + LEASE))

    _free(db, name, owner, tick)
    with db.write() as conn:
        traces.record(conn, rt.id, None, "tick", alerts.clock.now(),
                      {"tick": tick, "matched": res.matched, "fired": res.fired,
                       "errors": res.errors, "reset": res.reset, "worker": owner,
                       "scan_ms": round(res.scan_seconds * 1000, 1), "outcomes": res.outcomes})
    return res


def _fire_batch(alerts, conn, rt, ids: list[int], tick: datetime, res: TickResult) -> None:
    done = dedup.already_done(conn, rt.id, ids, rt.spec.once, tick)
    todo = [i for i in ids if i not in done]
    rows = alerts.rt.repo.fetch_many(conn, todo)
    fired, trace_rows = [], []
    now = alerts.clock.now()
    for rid in todo:
        row = rows.get(rid)
        if row is None:  # deleted since the scan
            continue
        record = alerts.reader.record(row)
        try:
            with conn.begin_nested():
                outcome, detail = fire(alerts, conn, rt, record, SYSTEM)
        except Exception as exc:  # noqa: BLE001 - one bad record does not stop the tick
            log.exception("scheduled alert %s failed on %s", rt.id, rid)
            outcome, detail = "error", {"error": f"{type(exc).__name__}: {exc}"}
            res.errors += 1
        else:
            res.fired += 1
        # errors are marked done too: the next tick tries again, this one does not loop
        fired.append(rid)
        res.outcomes[outcome] = res.outcomes.get(outcome, 0) + 1
        trace_rows.append({"alert": rt.id, "record_id": rid, "at": now, "outcome": outcome,
                           "detail": {"trigger": "schedule", "tick": tick, **detail}})
    dedup.mark_fired(conn, alerts.db.dialect, rt.id, fired, now, tick)
    traces.record_many(conn, trace_rows)


def _ensure_lease(db, name: str) -> None:
    ins = insert_for(db.dialect, le)
    with db.write() as conn:
        conn.execute(ins.values(name=name).on_conflict_do_nothing(index_elements=["name"]))


def _lock(conn, db, name: str, skip_locked: bool = False):
    q = sa.select(le).where(le.c.name == name)
    if db.dialect == "postgresql":
        q = q.with_for_update(skip_locked=skip_locked)
    row = conn.execute(q).mappings().first()
    return dict(row) if row else None


def _still_mine(conn, db, name: str, owner: str) -> bool:
    row = _lock(conn, db, name)
    return row is not None and row["owner"] == owner


def _free(db, name: str, owner: str, tick: datetime | None) -> None:
    values = {"owner": None, "until": None}
    if tick is not None:
        values["last_tick"] = tick
    with db.write() as conn:
        conn.execute(le.update().where(le.c.name == name, le.c.owner == owner).values(**values))


def run_due(alerts, owner: str, stop=None) -> list[TickResult]:
    """Run every scheduled alert whose latest tick has not run yet."""
    out = []
    now = alerts.clock.now()
    for rt in alerts.rt.alerts_scheduled:
        try:
            tick = latest_tick(rt.spec.on.cron, now)
            out.append(run_tick(alerts, rt, tick, owner, stop))
        except Exception as exc:  # noqa: BLE001 - one broken alert does not stop the others
            log.exception("scheduled alert %s failed", rt.id)
            with alerts.db.write() as conn:
                traces.record(conn, rt.id, None, "error", alerts.clock.now(),
                              {"trigger": "schedule", "error": f"{type(exc).__name__}: {exc}"})
            try:
                _free(alerts.db, lease_name(rt.id), owner, None)
            except Exception:  # noqa: BLE001
                pass
        if stop is not None and stop():
            break
    return out
