"""What lives as long as a transaction: its row cache, and savepoints on the DBAPI cursor.

`tx_cache(conn)` is the transaction's memory of the rows it read or wrote. A
`Savepoint` undoes one write alone: each write of a batch (an import's rows, the
demo's business steps), each writer sharing a group commit (database.py) and each
alert that fires runs in one. Through `Connection.begin_nested` the SAVEPOINT and
its RELEASE each take SQLAlchemy's whole execution path (~60 µs of Python); here
they run on the connection's own DBAPI cursor. Rolling one back forgets the row
cache, as the `rollback_savepoint` listener does for SQLAlchemy's. While someone
listens to the engine's statements (`hot_allowed`) a Savepoint is `begin_nested`,
so a listener sees every statement.
"""
from __future__ import annotations

import itertools
import logging

import sqlalchemy as sa

from .hot import hot_allowed, run_sql

log = logging.getLogger(__name__)
_names = itertools.count(1)


def tx_cache(conn: sa.Connection) -> dict:
    """A dict that lives exactly as long as `conn`'s current transaction.

    Rows read or written in a transaction are remembered here (records by id,
    users by name), so a transaction does not read back what it already has.
    It is keyed by the transaction object (conn.info outlives it) and dropped
    when a savepoint rolls back. Outside a transaction nothing is remembered.
    """
    txn = conn.get_transaction()
    if txn is None:
        return {}
    holder = conn.info.get("loom_tx_cache")
    if holder is None or holder[0] is not txn:
        holder = (txn, {})
        conn.info["loom_tx_cache"] = holder
    return holder[1]


def forget_tx_cache(conn: sa.Connection, *_args) -> None:
    conn.info.pop("loom_tx_cache", None)


class Savepoint:
    """A savepoint of `conn`'s transaction: `commit()` keeps its writes, `rollback()` undoes
    them; as a context manager it commits, or rolls back when the block raises."""

    __slots__ = ("conn", "name", "nested", "done")

    def __init__(self, conn: sa.Connection):
        self.conn, self.done = conn, False
        if not hot_allowed(conn):
            self.name, self.nested = None, conn.begin_nested()
            return
        self.name, self.nested = f"loom_sp_{next(_names)}", None
        run_sql(self.conn, f"SAVEPOINT {self.name}")

    def commit(self) -> None:
        if self.done:
            return
        self.done = True
        if self.nested is not None:
            self.nested.commit()
        else:
            run_sql(self.conn, f"RELEASE SAVEPOINT {self.name}")

    def rollback(self) -> None:
        if self.done:
            return
        self.done = True
        if self.nested is not None:
            self.nested.rollback()
            return
        try:
            run_sql(self.conn, f"ROLLBACK TO SAVEPOINT {self.name}")
            run_sql(self.conn, f"RELEASE SAVEPOINT {self.name}")
        finally:
            forget_tx_cache(self.conn)

    def __enter__(self) -> "Savepoint":
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        if kind is None:
            self.commit()
            return False
        try:
            self.rollback()
        except Exception:  # noqa: BLE001 - the block's own error is the one to report
            log.exception("rolling back savepoint %s failed", self.name)
        return False

