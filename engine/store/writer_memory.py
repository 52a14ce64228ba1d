"""What SQLite's writer connection remembers from one write transaction to the next.

Nearly every action reads the same few rows that rarely change (the users it assigns and
tells); a cache per transaction reads them again each time. `writer_memory(conn, name)`
is a dict that outlives the transaction, on SQLite and in write transactions only, and
is valid while:

- no other connection committed to the file: `PRAGMA data_version` on this connection
  changes whenever any other connection (this process or another) commits, and never for
  its own commits. A write transaction holds the file's write lock (BEGIN IMMEDIATE), so
  what the PRAGMA says at its start holds until it ends.
- no write of this process on this connection said otherwise: whoever writes the rows a
  memory holds calls `forget(conn, name)`, which empties it and keeps the rest of the
  transaction from using or filling it (its writes may still roll back).

Everything else gets None and reads as before: PostgreSQL (no such signal), reads (a read
transaction's snapshot may be older than the memory), a connection the pool replaced.
"""
from __future__ import annotations

import sqlalchemy as sa

from .hot import hot_allowed

MAX_ENTRIES = 10_000  # per memory; past it, start over (names asked once need not stay)
_HELD = "loom_writer_memory"  # conn.info: (driver connection, data_version, {name: dict})
_WROTE = "loom_writer_memory_wrote"  # conn.info: {name: the transaction that wrote it}


def writer_memory(conn: sa.Connection, name: str) -> dict | None:
    """The memory `name` of `conn`'s write transaction (filled by earlier ones while nobody
    else committed), or None where there can be none; ask once per transaction."""
    txn = conn.get_transaction()
    if txn is None or conn.dialect.name != "sqlite" \
            or not conn.get_execution_options().get("loom_write"):
        return None
    pooled = conn.connection  # its info and driver connection, looked up once
    info = pooled.info
    wrote = info.get(_WROTE)
    if wrote is not None and wrote.get(name) is txn:
        return None
    raw = pooled.dbapi_connection
    if not hot_allowed(conn):  # someone listens to statements: they see this one too
        version = conn.exec_driver_sql("PRAGMA data_version").scalar()
    else:
        cursor = raw.cursor()
        try:
            version = cursor.execute("PRAGMA data_version").fetchone()[0]
        finally:
            cursor.close()
    held = info.get(_HELD)
    if held is None or held[0] is not raw or held[1] != version:
        held = info[_HELD] = (raw, version, {})
    memory = held[2].get(name)
    if memory is None or len(memory) > MAX_ENTRIES:
        memory = held[2][name] = {}
    return memory


def forget(conn: sa.Connection, name: str) -> None:
    """`conn`'s transaction writes rows memory `name` holds: empty it, and use it no more
    until this transaction has ended (committed or rolled back)."""
    info = conn.info
    held = info.get(_HELD)
    if held is not None:
        held[2].pop(name, None)
    txn = conn.get_transaction()
    if txn is not None:
        info.setdefault(_WROTE, {})[name] = txn
