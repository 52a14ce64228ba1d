"""Event triggers (create | change | enter:<step>), evaluated inside the write.

The listener runs in the transaction of the write that caused it, so an
alert's inbox rows, raised records and outbox rows commit or roll back with
the change. Each alert runs in its own SAVEPOINT: an alert that fails (a
template error, a raised record that does not validate) is rolled back alone
and leaves an `error` trace; the user's write still succeeds.
"""
from __future__ import annotations

import contextlib
import logging

from ..store.transaction import Savepoint
from . import dedup, traces
from .runtime import condition_context, fire, holds_in, seen_in

log = logging.getLogger(__name__)


def on_change(alerts, change) -> None:
    """Evaluate the alerts of the changed record's form, inside the write's transaction."""
    compiled = alerts.rt.alerts_by_form.get(change.form)
    if not compiled or change.after is None:
        return
    seen = _seen(change.conn)
    for rt in compiled:
        if not rt.matches(change):
            continue
        # one evaluation per record version: a transition that reports both
        # `update` and `enter` does not fire a `change` alert twice
        key = (rt.id, change.after.id, change.after.version)
        if key in seen:
            continue
        seen.add(key)
        evaluate(alerts, change.conn, rt, change.after, change.user, trigger=change.kind)


def on_changes(alerts, changes: list) -> None:
    """`on_change` for the changes of one bulk write (records/bulk.py), in the same transaction.

    Each condition is evaluated per record, as `on_change` does; the traces of the records
    found false (and, for a `once` alert, clearing their dedup state) are written in one
    statement each. A record whose condition holds, or fails to evaluate, goes through
    `evaluate` alone (its savepoint, its actions, its trace), as it would one by one.
    A record's evaluation context serves all its alerts' conditions until an alert fires
    (its actions may write what a condition reads)."""
    by_form: dict[str, list] = {}
    for change in changes:
        by_form.setdefault(change.form, []).append(change)
    for form, group in by_form.items():
        compiled = alerts.rt.alerts_by_form.get(form)
        if not compiled:
            continue
        conn = group[0].conn
        seen = _seen(conn)
        now = alerts.clock.now()
        contexts: dict[int, object] = {}  # index in `group` -> its evaluation context
        for rt in compiled:
            false_rows = []
            source = rt.spec.if_.source if rt.spec.if_ else None
            for i, change in enumerate(group):
                record = change.after
                if record is None or not rt.matches(change):
                    continue
                # not remembered in `seen`: a bulk write reports each new record once, and a
                # batch rolled back to its savepoint is written again one by one (same ids)
                if (rt.id, record.id, record.version) in seen:
                    continue
                ctx = contexts.get(i)
                if ctx is None:
                    ctx = contexts[i] = condition_context(alerts.reader, record.values(),
                                                          change.user, conn)
                try:
                    holds = holds_in(rt, ctx)
                except Exception:  # noqa: BLE001 - evaluate() alone leaves the error trace
                    holds = True
                if holds:
                    evaluate(alerts, conn, rt, record, change.user, trigger=change.kind)
                    contexts.clear()
                    continue
                # the detail as `traces.jsonable` stores it: plain keys and values but "values"
                false_rows.append({
                    "alert": rt.id, "record_id": record.id, "at": now, "outcome": "condition_false",
                    "detail": {"trigger": change.kind, "version": record.version, "if": source,
                               "values": traces.jsonable(seen_in(rt, ctx))}})
            if rt.spec.once:
                dedup.mark_false_many(conn, rt.id, [r["record_id"] for r in false_rows])
            traces.record_many(conn, false_rows, stored=True)


def evaluate(alerts, conn, rt, record, user, trigger: str) -> str:
    """Evaluate one alert on one record; leaves a trace; returns the outcome."""
    now = alerts.clock.now()
    base = {"trigger": trigger, "version": record.version}
    try:
        # most evaluations end here, writing only their trace: the condition reads, so it
        # needs a savepoint only where a failed statement spoils the transaction
        with _reading(conn):
            ctx = condition_context(alerts.reader, record.values(), user, conn)
            holds = holds_in(rt, ctx)
            seen = None if holds else seen_in(rt, ctx)
        if not holds:
            if rt.spec.once:
                dedup.mark_false(conn, rt.id, record.id)
            traces.record(conn, rt.id, record.id, "condition_false", now,
                          {**base, "if": rt.spec.if_.source if rt.spec.if_ else None,
                           "values": seen})
            return "condition_false"
        with Savepoint(conn):
            if rt.spec.once:
                state = dedup.get(conn, rt.id, record.id)
                if state is not None and state["active"]:
                    traces.record(conn, rt.id, record.id, "suppressed", now,
                                  {**base, "reason": "once: fired before and the condition "
                                   "has not been false since", "last_fired_at": state["last_fired_at"]})
                    return "suppressed"
            outcome, detail = fire(alerts, conn, rt, record, user)
            dedup.mark_fired(conn, alerts.db.dialect, rt.id, [record.id], now)
            traces.record(conn, rt.id, record.id, outcome, now, {**base, **detail})
            return outcome
    except Exception as exc:  # noqa: BLE001 - an alert's failure must not undo the user's write
        log.exception("alert %s failed on %s %s", rt.id, record.form, record.id)
        traces.record(conn, rt.id, record.id, "error", now,
                      {**base, "error": f"{type(exc).__name__}: {exc}"})
        return "error"


def _reading(conn):
    """A savepoint around reads, where a failed statement aborts the whole transaction
    (PostgreSQL); SQLite goes on after one, so there it costs two statements for nothing."""
    return contextlib.nullcontext() if conn.dialect.name == "sqlite" else Savepoint(conn)


def _seen(conn) -> set:
    """Per-transaction memory of evaluations (conn.info outlives the transaction)."""
    txn = conn.get_transaction()
    holder = conn.info.get("loom_alerts_seen")
    if holder is None or holder[0] is not txn:
        holder = (txn, set())
        conn.info["loom_alerts_seen"] = holder
    return holder[1]
