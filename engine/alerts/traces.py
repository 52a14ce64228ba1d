"""Alert traces: why an alert fired, or why it did not, without reading logs.

Outcomes: fired | condition_false (with the values the condition saw) |
suppressed (`once` and already fired) | no_recipients | error | tick (one
summary row per scheduled scan: how many matched and fired). Rows older than
RETENTION are pruned by the worker.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Mapping

import sqlalchemy as sa

from ..store import tables as t
from ..store.hot import Hot

RETENTION = timedelta(days=30)
OUTCOMES = ("fired", "condition_false", "suppressed", "no_recipients", "error", "tick")
tr = t.alert_traces
_INSERT = Hot(tr.insert())  # a trace per evaluation; a bulk write's in one executemany


_PLAIN = frozenset((str, int, bool, float, type(None)))  # stored as they are


def jsonable(value: Any) -> Any:
    """Values as traces store them: decimals and dates as text, containers recursively."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        return {k if type(k) is str else str(k):
                v if type(v) in _PLAIN else jsonable(v) for k, v in value.items()}
    if kind is Decimal:  # what traces hold most, after plain values
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def record(conn, alert: str, record_id: int | None, outcome: str, now: datetime,
           detail: Mapping | None = None) -> None:
    _INSERT.execute(conn, {"alert": alert, "record_id": record_id, "at": now, "outcome": outcome,
                           "detail": jsonable(dict(detail or {}))})


def record_many(conn, rows: list[dict], stored: bool = False) -> None:
    """Many traces in one executemany; `stored`: each row's detail is already as `jsonable`
    answers it (built so by the caller), neither copied nor walked again."""
    if rows:
        _INSERT.many(conn, rows if stored else
                     [{**r, "detail": jsonable(r.get("detail") or {})} for r in rows])


def prune(conn, now: datetime, keep: timedelta = RETENTION) -> int:
    return conn.execute(tr.delete().where(tr.c.at < now - keep)).rowcount


def query(conn, *, alerts: list[str] | None = None, record_id: int | None = None,
          limit: int = 100) -> list[dict]:
    q = sa.select(tr)
    if alerts is not None:
        q = q.where(tr.c.alert.in_(alerts))
    if record_id is not None:
        q = q.where(tr.c.record_id == record_id)
    return [dict(r) for r in conn.execute(q.order_by(tr.c.id.desc()).limit(limit)).mappings()]
