"""Savepoints on the DBAPI cursor: one write undone alone, without SQLAlchemy's nested transaction.

A batch gives each of its writes a savepoint (an import's rows, the demo's business
steps), and an alert that fires runs in one. Through `Connection.begin_nested` the
SAVEPOINT and its RELEASE each take SQLAlchemy's whole execution path (~60 µs of
Python); a savepoint here runs them on the connection's own DBAPI cursor. Rolling one
back forgets the transaction's row cache, as the `rollback_savepoint` listener does for
SQLAlchemy's. While someone listens to the engine's statements (`hot_allowed`), it is
`begin_nested` as before, so a listener sees every statement.
"""
from __future__ import annotations

import itertools
import logging

import sqlalchemy as sa

from .database import forget_tx_cache
from .hot import hot_allowed

log = logging.getLogger(__name__)
_names = itertools.count(1)


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
        self._run(f"SAVEPOINT {self.name}")

    def _run(self, sql: str) -> None:
        cursor = self.conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute(sql)
        finally:
            cursor.close()

    def commit(self) -> None:
        if self.done:
            return
        self.done = True
        if self.nested is not None:
            self.nested.commit()
        else:
            self._run(f"RELEASE SAVEPOINT {self.name}")

    def rollback(self) -> None:
        if self.done:
            return
        self.done = True
        if self.nested is not None:
            self.nested.rollback()
            return
        try:
            self._run(f"ROLLBACK TO SAVEPOINT {self.name}")
            self._run(f"RELEASE SAVEPOINT {self.name}")
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


def savepoint(conn: sa.Connection) -> Savepoint:
    """A new savepoint of `conn`'s open transaction."""
    return Savepoint(conn)
