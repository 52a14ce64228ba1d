"""Reads on a SQLite file run on a few connections kept checked out between reads.

Each must start its read afresh (never a snapshot left open from an earlier read),
two reads at once never share one, and `dispose()` leaves none behind.
"""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from engine.store import database as database_module
from engine.store.database import KEPT_READERS, Database, kept_readers


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'kept.db'}")
    with database.write() as conn:
        conn.execute(sa.text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
    yield database
    database.dispose()


def _bodies(db: Database) -> list[str]:
    with db.read() as conn:
        return conn.execute(sa.text("SELECT body FROM notes ORDER BY id")).scalars().all()


def _driver(conn: sa.Connection):
    return conn.connection.dbapi_connection


def test_reads_on_one_thread_reuse_one_kept_connection_that_dispose_returns(db):
    seen = []
    for _ in range(3):
        with db.read() as conn:
            seen.append(_driver(conn))
    assert seen[0] is seen[1] is seen[2]
    assert kept_readers(db.engine) == 1
    assert db.engine.pool.checkedout() == 1 + database_module.kept_writers(db.engine)
    db.dispose()
    assert kept_readers(db.engine) == 0
    assert db.engine.pool.checkedout() == 0


def test_a_kept_reader_sees_what_another_connection_committed_after_its_last_read(db, tmp_path):
    assert _bodies(db) == []
    other = Database(f"sqlite:///{tmp_path / 'kept.db'}")
    try:
        with other.write() as conn:
            conn.execute(sa.text("INSERT INTO notes (body) VALUES ('from another process')"))
    finally:
        other.dispose()
    assert _bodies(db) == ["from another process"]


def test_a_read_that_raises_leaves_no_transaction_open_on_the_connection_kept(db):
    with pytest.raises(ZeroDivisionError):
        with db.read() as conn:
            conn.execute(sa.text("SELECT count(*) FROM notes")).scalar()
            kept = _driver(conn)
            1 / 0
    assert not kept.in_transaction
    with db.write() as conn:
        conn.execute(sa.text("INSERT INTO notes (body) VALUES ('after the failed read')"))
    assert _bodies(db) == ["after the failed read"]


def test_a_reader_whose_connection_broke_is_closed_not_kept(db):
    with db.read() as conn:
        first = _driver(conn)
    with pytest.raises(sa.exc.SQLAlchemyError):
        with db.read() as conn:
            assert _driver(conn) is first
            conn.invalidate()  # as a lost connection is: SQLAlchemy closes the driver's
            conn.execute(sa.text("SELECT 1"))
    assert kept_readers(db.engine) == 0
    with db.read() as conn:
        assert _driver(conn) is not first
        assert conn.execute(sa.text("SELECT count(*) FROM notes")).scalar() == 0
    assert kept_readers(db.engine) == 1


def test_two_reads_at_once_run_on_two_connections(db):
    inside = threading.Barrier(2, timeout=10)
    drivers = []

    def read():
        with db.read() as conn:
            drivers.append(_driver(conn))
            inside.wait()  # both hold their read here at the same moment

    threads = [threading.Thread(target=read) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(drivers) == 2 and drivers[0] is not drivers[1]
    assert kept_readers(db.engine) == 2


def test_no_more_than_kept_readers_idle_connections_stay_checked_out(db):
    n = KEPT_READERS + 3
    inside = threading.Barrier(n, timeout=10)

    def read():
        with db.read() as conn:
            conn.execute(sa.text("SELECT count(*) FROM notes")).scalar()
            inside.wait()

    threads = [threading.Thread(target=read) for _ in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert kept_readers(db.engine) == KEPT_READERS
    assert db.engine.pool.checkedout() == KEPT_READERS + database_module.kept_writers(db.engine)


def test_a_reader_out_while_the_database_is_disposed_is_closed_when_its_read_ends(db):
    with db.read() as conn:
        db.dispose()
        assert conn.execute(sa.text("SELECT count(*) FROM notes")).scalar() == 0
    assert kept_readers(db.engine) == 0
    assert db.engine.pool.checkedout() == 0
    assert _bodies(db) == []
    assert kept_readers(db.engine) == 1


def test_an_in_memory_database_keeps_no_reader(tmp_path):
    mem = Database("sqlite://")
    try:
        with mem.read() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
        assert kept_readers(mem.engine) == 0
    finally:
        mem.dispose()
