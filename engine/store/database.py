"""Connections: SQLite in WAL with synchronous=FULL, or PostgreSQL.

Writes on SQLite start with BEGIN IMMEDIATE so two writers queue on the
database lock instead of failing half-way with "database is locked" when a
deferred transaction tries to upgrade; readers use plain deferred BEGIN and,
in WAL mode, never block writers. Within one process, writers first take the
file's writer lane (lane.py, first come first served), so they queue on a lock
rather than spin in SQLite's busy handler; busy_timeout is left for other
processes on the same file. Writers queued in the lane share one transaction
and one commit (group commit, `_grouped_write`): each in its own savepoint,
each acknowledged only once the shared commit is durable.

Reads are fenced by a statement timeout, the last line behind the expression
budgets: a statement in `read()` running longer than `statement_timeout`
seconds is stopped (SQLite: a progress handler; PostgreSQL: `SET LOCAL
statement_timeout`) and raises `QueryTimeout`, a clean 503. Writes are not
fenced: migrations and imports may legitimately run long.
"""
from __future__ import annotations

import contextlib
import os
import threading
import time
import weakref
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy import event

from ..errors import QueryTimeout
from . import jsontext
from .hot import arm_deadline, hot_allowed, register_quiet, run_sql
from .lane import WriterLane, lane_for
from .transaction import Savepoint, forget_tx_cache

BUSY_TIMEOUT_MS = 30_000
GROUP_MAX = 64  # writers sharing one commit (one fsync) at most
STATEMENT_TIMEOUT_S = 30.0  # default; $LOOM_STATEMENT_TIMEOUT overrides, 0 turns it off
_PROGRESS_STEPS = 10_000  # SQLite VM instructions between two looks at the clock
_PG_QUERY_CANCELED = "57014"


KEPT_READERS = 4  # idle read connections a SQLite Database keeps checked out, at most
_KEPT: "weakref.WeakSet[sa.Connection]" = weakref.WeakSet()  # every Database's writer connection
_KEPT_READERS: "weakref.WeakSet[sa.Connection]" = weakref.WeakSet()  # and its readers


def kept_writers(engine: sa.Engine) -> int:
    """How many of `engine`'s checked-out connections are writer connections kept on purpose,
    between writes (a leak check counts the others: an open transaction, a connection never
    closed)."""
    return _idle(_KEPT, engine)


def kept_readers(engine: sa.Engine) -> int:
    """How many of `engine`'s checked-out connections are idle readers kept on purpose
    between reads (see `Database._reader`)."""
    return _idle(_KEPT_READERS, engine)


def _idle(kept: "weakref.WeakSet[sa.Connection]", engine: sa.Engine) -> int:
    return sum(1 for conn in list(kept)
               if conn.engine is engine and not conn.closed and not conn.in_transaction())


class WriteNotCommitted(RuntimeError):
    """The commit of the transaction this write shared failed: nothing of it was written."""

    def __init__(self) -> None:
        super().__init__("the database could not commit this write; nothing of it was written")


class _Group:
    """One SQLite write transaction shared by the writers queued in the lane (group commit)."""

    def __init__(self, owner: "Database", conn: sa.Connection, txn) -> None:
        self.owner, self.conn, self.txn = owner, conn, txn
        self.members = 0
        self.broken = False
        self.error: BaseException | None = None
        self._waiting: list[threading.Event] = []

    def join(self) -> threading.Event:
        """A member whose write is in the transaction waits on this until it is committed."""
        self.members += 1
        done = threading.Event()
        self._waiting.append(done)
        return done

    def abandon(self) -> None:
        """Roll back a group no one has joined yet."""
        try:
            self.txn.rollback()
        except BaseException:
            self.owner.drop_writer(self.conn)
            raise

    def finish(self) -> None:
        """Commit (or, broken, roll back) once and wake every member waiting for it."""
        try:
            if self.broken:
                self.txn.rollback()
                self.error = RuntimeError("a write of the group failed to release its savepoint")
            else:
                self.txn.commit()
        except BaseException as exc:
            self.error = exc
            self.owner.drop_writer(self.conn)
            raise
        finally:
            for done in self._waiting:
                done.set()


class Database:
    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10,
                 statement_timeout: float | None = None):
        self._local = threading.local()
        if statement_timeout is None:
            statement_timeout = float(os.environ.get("LOOM_STATEMENT_TIMEOUT",
                                                     STATEMENT_TIMEOUT_S))
        self.statement_timeout = statement_timeout  # seconds; 0 = no fence
        self.url = sa.engine.make_url(url)
        self.dialect = self.url.get_backend_name()
        # SQLite files get one writer lane per process; in-memory databases and PostgreSQL none
        self.lane: WriterLane | None = None
        # the lane's writes run on one connection kept checked out (see _writer_conn)
        self._writer: sa.Connection | None = None
        # SQLite files: reads run on connections kept checked out between reads (_reader)
        self._readers: list[sa.Connection] | None = None
        self._generation = 0  # dispose() counts up: a reader out at that moment is not kept
        if self.dialect == "sqlite":
            if self.url.database not in (None, "", ":memory:"):
                self.lane = lane_for(self.url.database)
                self._readers = []
            # One connection per thread; the SQLite file serializes writers itself.
            self.engine = sa.create_engine(
                self.url, echo=echo, future=True,
                connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False,
                              "isolation_level": None},
                poolclass=sa.pool.QueuePool if self.url.database not in (None, "", ":memory:")
                else sa.pool.StaticPool,
                pool_size=pool_size, max_overflow=20, json_serializer=jsontext.dumps,
            ) if self.url.database not in (None, "", ":memory:") else sa.create_engine(
                self.url, echo=echo, poolclass=sa.pool.StaticPool, json_serializer=jsontext.dumps,
                connect_args={"check_same_thread": False, "isolation_level": None})
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "connect", _sqlite_fence)
            event.listen(self.engine, "begin", _sqlite_begin)
            event.listen(self.engine, "before_cursor_execute", _sqlite_deadline)
        else:
            self.engine = sa.create_engine(self.url, echo=echo, pool_size=pool_size,
                                           max_overflow=20, pool_pre_ping=True,
                                           json_serializer=jsontext.dumps)
        # a savepoint rolled back may have written rows the cache now holds
        event.listen(self.engine, "rollback_savepoint", forget_tx_cache)
        register_quiet(self.engine)  # hot statements skip SQLAlchemy unless someone listens

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextlib.contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """One write transaction: everything in it commits, or nothing does.

        Nested calls on the same thread join the open transaction, so a batch
        (an import) of many writes commits once, or not at all.
        """
        outer = getattr(self._local, "conn", None)
        if outer is not None:
            yield outer
            return
        if self.lane is not None:
            yield from self._grouped_write(self.lane)
            return
        with self.engine.connect() as conn:
            conn = conn.execution_options(loom_write=True)
            with conn.begin():
                self._local.conn = conn
                try:
                    yield conn
                finally:
                    self._local.conn = None
        if getattr(self._local, "scope", False):
            self._local.read_conn = None  # the request's snapshot predates this commit

    def _grouped_write(self, lane: WriterLane) -> Iterator[sa.Connection]:
        """SQLite: take the writer lane, then write in a savepoint of the group's transaction.

        Group commit: when writers queue behind me, I leave the transaction open for
        the next one and wait; the last writer of the group (no one queued, or
        GROUP_MAX members) commits once — one fsync for all — and wakes the others.
        Each write is still atomic (its own savepoint: a failed one is rolled back
        alone) and returns only after the commit that holds it is durable; if that
        commit fails, every member's write raises and none was acknowledged.
        """
        lane.acquire()  # my turn in arrival order; BEGIN IMMEDIATE then finds the file free
        try:
            group, lane.group = lane.group, None
            if group is not None and group.owner is not self:
                # left open by another Database on this file: commit it for its members first
                with contextlib.suppress(Exception):
                    group.finish()
                group = None
            # the first writer of a group needs no savepoint: if it fails, so does the whole
            # transaction, which holds nothing else yet
            first = group is None
            if first:
                conn = self._writer_conn()
                group = _Group(self, conn, conn.begin())
            else:
                forget_tx_cache(group.conn)  # each write reads for itself what others wrote
        except BaseException:
            lane.release()
            raise
        conn = group.conn
        failed: BaseException | None = None
        self._local.conn = conn
        try:
            savepoint = None if first else Savepoint(conn)
            try:
                yield conn
            except BaseException as exc:
                failed = exc
                if savepoint is not None:
                    savepoint.rollback()
            else:
                if savepoint is not None:
                    savepoint.commit()
        except BaseException as exc:  # a savepoint failed: the group cannot commit
            group.broken = True
            failed = failed or exc
        finally:
            self._local.conn = None
        if first and failed is not None and not group.broken:
            try:
                group.abandon()  # nothing but my failed write in it: roll it all back
            finally:
                lane.release()
            raise failed
        if not group.broken and lane.waiting and group.members < GROUP_MAX:
            done = None if failed is not None else group.join()
            lane.group = group  # the next writer in the lane goes on in this transaction
            lane.release()
            if failed is not None:
                raise failed
            done.wait()
            if group.error is not None:
                raise WriteNotCommitted() from group.error
        else:
            try:
                group.finish()
            finally:
                lane.release()
            if failed is not None:
                raise failed
            if group.error is not None:
                raise WriteNotCommitted() from group.error
        if getattr(self._local, "scope", False):
            self._local.read_conn = None  # the request's snapshot predates this commit

    @contextlib.contextmanager
    def aside(self) -> Iterator[None]:
        """Reads in this thread's open write whose failure must not undo the write: on
        PostgreSQL in a savepoint (a failed statement there aborts the whole transaction),
        rolled back when the block raises; SQLite goes on after a failed statement, so there
        (and outside a write) it is nothing. The block's exception goes on to the caller."""
        conn = getattr(self._local, "conn", None)
        if conn is None or self.is_sqlite:
            yield
            return
        with Savepoint(conn):
            yield

    @contextlib.contextmanager
    def read(self) -> Iterator[sa.Connection]:
        outer = getattr(self._local, "conn", None)
        if outer is not None:  # inside a write: read what it wrote
            yield outer
            return
        shared = getattr(self._local, "read_conn", None)
        if shared is not None:  # inside read_batch: one snapshot, one cache
            try:
                yield shared
            except sa.exc.OperationalError as exc:
                if _stopped(exc, shared):
                    raise self._timeout() from None
                raise
            return
        with self._reader() as conn:
            limit = self.statement_timeout
            with conn.begin():
                if limit and not self.is_sqlite:
                    ms = max(int(limit * 1000), 1)
                    conn.exec_driver_sql(f"SET LOCAL statement_timeout = {ms}")
                conn.info["loom_fence"] = limit
                try:
                    yield conn
                except sa.exc.OperationalError as exc:
                    if _stopped(exc, conn):
                        raise self._timeout() from None
                    raise
                finally:
                    conn.info["loom_fence"] = 0
                    state = conn.info.get("loom_deadline")
                    if state is not None:  # the ROLLBACK closing the read is never stopped
                        state[0] = 0.0

    @contextlib.contextmanager
    def _reader(self) -> Iterator[sa.Connection]:
        """A connection for one read transaction. On a SQLite file, one of a few kept checked
        out between reads, as the writer is: the pool's checkout, its reset on return and
        SQLAlchemy's Connection set-up were a fifth of the app's Python in a GET of a record.
        One goes back to the idle list only when it holds no transaction and no `dispose()`
        came while it was out; otherwise it is closed (back to the pool, which resets it)."""
        idle = self._readers
        if idle is None:
            with self.engine.connect() as conn:
                yield conn
            return
        try:
            conn = idle.pop()  # atomic under the GIL: two threads never get the same one
        except IndexError:
            conn = self.engine.connect()
            _KEPT_READERS.add(conn)  # counted by kept_readers only while open and idle
        generation = self._generation
        try:
            yield conn
        finally:
            if generation == self._generation and len(idle) < KEPT_READERS and _reusable(conn):
                idle.append(conn)
            else:
                with contextlib.suppress(Exception):
                    conn.close()

    def _timeout(self) -> QueryTimeout:
        return QueryTimeout(f"the database query took longer than {self.statement_timeout:g} "
                            "seconds and was stopped; narrow the filter or the report's parameters")

    @contextlib.contextmanager
    def read_scope(self) -> Iterator[None]:
        """The reads of one request share one read transaction (one BEGIN, one pool checkout,
        one transaction cache: the token's user, the record read twice), until this thread
        writes: reads after a commit open their own transactions, so they see what it wrote."""
        if getattr(self._local, "read_conn", None) is not None or \
                getattr(self._local, "conn", None) is not None:
            yield
            return
        with self.read_batch():
            self._local.scope = True
            try:
                yield
            finally:
                self._local.scope = False

    @contextlib.contextmanager
    def read_batch(self) -> Iterator[sa.Connection]:
        """One read transaction the reads on this thread join (an import checking many
        rows reads each linked record once); takes no write lock, writes still go alone."""
        if getattr(self._local, "read_conn", None) is not None:
            yield self._local.read_conn
            return
        with self.read() as conn:
            self._local.read_conn = conn
            try:
                yield conn
            finally:
                self._local.read_conn = None

    def _writer_conn(self) -> sa.Connection:
        """The connection this Database writes on while it holds the lane.

        Only the lane's holder uses it, so one is enough; keeping it checked out spares
        every write the pool's checkout, its reset ROLLBACK on return and SQLAlchemy's
        Connection set-up (~10% of an approval's CPU)."""
        conn = self._writer
        if conn is None or conn.closed or conn.invalidated:
            conn = self._writer = self.engine.connect().execution_options(loom_write=True)
            _KEPT.add(conn)
        return conn

    def drop_writer(self, conn: sa.Connection) -> None:
        """Throw the writer connection away after a failed commit or rollback: the next
        write starts on a fresh one rather than on a connection in an unknown state
        (SQLAlchemy counts a failed commit as ended, so the pool would not roll back
        what the file may still hold open)."""
        if self._writer is conn:
            self._writer = None
        with contextlib.suppress(Exception):
            conn.invalidate()  # closes the DBAPI connection: its transaction and lock go
        with contextlib.suppress(Exception):
            conn.close()

    def dispose(self) -> None:
        """Close every connection of this Database (a restore must find the file unheld).

        Called inside this thread's own write, the kept writer stays: that write is still
        running on it, and a later `dispose` outside any write closes it."""
        if self.lane is not None and self.lane.held_by_me:
            self.engine.dispose()
            return
        self._generation += 1  # a reader out now is closed when its read ends, not kept
        while self._readers:
            try:
                reader = self._readers.pop()
            except IndexError:  # another thread's read took the last one: it is out now
                break
            with contextlib.suppress(Exception):
                reader.close()
        kept, self._writer = self._writer, None
        if kept is not None and self.lane is not None:
            with self.lane:  # never under another thread's write
                group, self.lane.group = self.lane.group, None
                if group is not None:  # left open for a next writer: commit it for its members
                    with contextlib.suppress(Exception):
                        group.finish()
                with contextlib.suppress(Exception):
                    kept.close()
        self.engine.dispose()


def _reusable(conn: sa.Connection) -> bool:
    """May this read connection serve the next read: open, valid, no transaction left open
    (neither SQLAlchemy's nor, after a failed rollback, the driver's)?"""
    if conn.closed or conn.invalidated or conn.in_transaction():
        return False
    try:
        return not conn.connection.dbapi_connection.in_transaction
    except Exception:  # noqa: BLE001 - a connection that cannot say is not kept
        return False


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: an acknowledged approval survives power loss, not only a crash.
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.close()


def _sqlite_fence(dbapi_conn, record) -> None:
    """A progress handler that stops a statement once its deadline has passed."""
    state = record.info.setdefault("loom_deadline", [0.0, False])  # [deadline, fired]

    def progress() -> int:
        if state[0] and time.monotonic() > state[0]:
            state[1] = True
            return 1  # sqlite3 raises OperationalError("interrupted")
        return 0

    dbapi_conn.set_progress_handler(progress, _PROGRESS_STEPS)


def _sqlite_deadline(conn, _cursor, _statement, _params, _context, _many) -> None:
    arm_deadline(conn)


def _stopped(exc: sa.exc.OperationalError, conn: sa.Connection) -> bool:
    """Was this error the statement timeout (rather than, say, a lost connection)?"""
    state = conn.info.get("loom_deadline")
    if state is not None:
        return bool(state[1])
    return getattr(exc.orig, "sqlstate", None) == _PG_QUERY_CANCELED


def _sqlite_begin(conn: sa.Connection) -> None:
    # pysqlite runs in autocommit (isolation_level=None); we issue BEGIN ourselves, on the
    # DBAPI connection (a hot statement, see hot.py) unless someone listens to statements.
    sql = "BEGIN IMMEDIATE" if conn.get_execution_options().get("loom_write") else "BEGIN"
    if hot_allowed(conn):
        run_sql(conn, sql)  # "database is locked" stays SQLAlchemy's OperationalError
    else:
        conn.exec_driver_sql(sql)
