"""The alert tables' rows of records that leave the store."""
from __future__ import annotations

from typing import Iterable

import sqlalchemy as sa

from . import tables as t


def forget_alerts(conn: sa.Connection, alerts: Iterable[str], ids: Iterable[int]) -> None:
    """Drop the state (of `alerts`, the records' form's) and the traces of records purged,
    archived or undone: SQLite hands the newest one's id to the next record, which must not
    inherit a `once` alert's "already fired" (and stay silent) nor the old record's traces.
    Naming the alerts lets the state's primary key (alert, record_id) find the rows."""
    ids, alerts = list(ids), list(alerts)
    if alerts:
        conn.execute(t.alert_state.delete().where(t.alert_state.c.alert.in_(alerts),
                                                  t.alert_state.c.record_id.in_(ids)))
    conn.execute(t.alert_traces.delete().where(t.alert_traces.c.record_id.in_(ids)))
