"""De-duplication state per (alert, record): `alert_state`.

`active` is what `once: true` needs: set when the alert fires, cleared when
the condition is seen false; while set, the alert is suppressed. `last_tick`
is what scheduled alerts without `once` need: a record fires at most once per
schedule tick, and the scan's anti-join skips records already done for the
tick (so a worker that took over a half-finished tick never fires twice).
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

import sqlalchemy as sa

from ..store import tables as t
from ..store.hot import Hot
from ..store.transaction import tx_cache
from ..store.upsert import insert_for

st = t.alert_state
_B = sa.bindparam
_MARK_FALSE = Hot(st.update().where(st.c.alert == _B("b_alert"), st.c.record_id == _B("b_id"),
                                    st.c.active.is_(True)).values(active=False))


_GET = Hot(sa.select(st).where(st.c.alert == _B("b_alert"), st.c.record_id == _B("b_id")))


def get(conn, alert: str, record_id: int) -> dict | None:
    """The (alert, record) state row, or None: asked on every evaluation of a `once` alert
    whose condition holds, so one statement built once."""
    return _GET.first_mapping(conn, {"b_alert": alert, "b_id": record_id})


def mark_fired(conn, dialect: str, alert: str, record_ids: Iterable[int], now: datetime,
               tick: datetime | None = None) -> None:
    rows = [{"alert": alert, "record_id": rid, "active": True, "last_fired_at": now,
             "last_tick": tick} for rid in record_ids]
    known = _inactive(conn)
    if known:
        known.difference_update((alert, r["record_id"]) for r in rows)
    _fired(dialect, tick is not None).many(conn, rows)


_FIRED: dict[tuple[str, bool], Hot] = {}


def _fired(dialect: str, ticked: bool) -> Hot:
    """The upsert of fired rows, built once per dialect: active again, fired now, and with a
    scheduled tick that tick (an event trigger leaves `last_tick` as it was)."""
    stmt = _FIRED.get((dialect, ticked))
    if stmt is None:
        ins = insert_for(dialect, st)
        update = {"active": True, "last_fired_at": ins.excluded.last_fired_at}
        if ticked:
            update["last_tick"] = ins.excluded.last_tick
        stmt = _FIRED[dialect, ticked] = Hot(
            ins.on_conflict_do_update(index_elements=["alert", "record_id"], set_=update))
    return stmt


def mark_false(conn, alert: str, record_id: int) -> bool:
    """The condition is false now: a `once` alert may fire again. True when it was active.

    On SQLite the write transaction excludes every other writer, so once a record is
    marked inactive here it stays so until this transaction fires the alert on it: the
    UPDATE is not sent again (a record written many times in one transaction, in an import
    or a batch, is evaluated on every write)."""
    known = _inactive(conn)
    if known is not None and (alert, record_id) in known:
        return False
    was = _MARK_FALSE.rowcount(conn, {"b_alert": alert, "b_id": record_id}) > 0
    if known is not None:
        known.add((alert, record_id))
    return was


def _inactive(conn) -> set | None:
    """(alert, record id) pairs this SQLite transaction knows to be inactive; None elsewhere."""
    if conn.dialect.name != "sqlite":
        return None
    return tx_cache(conn).setdefault("alert_inactive", set())


def mark_false_many(conn, alert: str, record_ids: list[int]) -> None:
    """`mark_false` for many records in one statement per 500 ids (SQLite: `mark_false`'s
    UPDATE in one executemany, no IN list for SQLAlchemy to expand and render per batch)."""
    if conn.dialect.name == "sqlite":
        _MARK_FALSE.many(conn, [{"b_alert": alert, "b_id": rid} for rid in record_ids])
        return
    for start in range(0, len(record_ids), 500):
        conn.execute(st.update().where(st.c.alert == alert,
                                       st.c.record_id.in_(record_ids[start:start + 500]),
                                       st.c.active.is_(True)).values(active=False))


def not_done(alert: str, record_col, once: bool, tick: datetime):
    """The scan's anti-join: records this alert has not fired for (this tick, or since true)."""
    done = st.c.active.is_(True) if once else st.c.last_tick >= tick
    return ~sa.exists().where(st.c.alert == alert, st.c.record_id == record_col, done)


def already_done(conn, alert: str, record_ids: list[int], once: bool, tick: datetime) -> set[int]:
    if not record_ids:
        return set()
    done = st.c.active.is_(True) if once else st.c.last_tick >= tick
    return set(conn.execute(sa.select(st.c.record_id).where(
        st.c.alert == alert, st.c.record_id.in_(record_ids), done)).scalars())


def reset_false(conn, alert: str, matching) -> list[int]:
    """Clear `active` for records no longer matching (`matching`: a SELECT of ids)."""
    return list(conn.execute(st.update().where(
        st.c.alert == alert, st.c.active.is_(True), st.c.record_id.not_in(matching))
        .values(active=False).returning(st.c.record_id)).scalars())
