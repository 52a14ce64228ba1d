"""SQLite writers of one process queue in the writer lane, in arrival order; readers never wait.

These run on a SQLite file on purpose (the lane is SQLite's; PostgreSQL queues
writers on row locks). SQLite's busy handler is switched off (busy_timeout 0):
a writer that met a held file lock would fail at once with "database is
locked", so every write succeeding proves no writer ever waited on the file.
"""
from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from engine.store import database as database_module
from engine.store import tables as t
from tests.conftest import VALID, make_engine

THREADS = 8


def _engine_without_busy_wait(tmp_path, clock, monkeypatch):
    monkeypatch.setattr(database_module, "BUSY_TIMEOUT_MS", 0)
    eng = make_engine(VALID, f"sqlite:///{tmp_path / 'lane.db'}", clock)
    eng.add_user("alice", ["sales"])
    return eng


def test_concurrent_writers_never_meet_a_locked_file(tmp_path, clock, monkeypatch):
    eng = _engine_without_busy_wait(tmp_path, clock, monkeypatch)
    try:
        alice = eng.user("alice")
        barrier = threading.Barrier(THREADS)
        created, failures = [], []

        def write(n):
            barrier.wait()
            for i in range(15):
                try:
                    created.append(eng.create(alice, "customer", {"name": f"c{n}-{i}"}).id)
                except Exception as exc:  # "database is locked" would land here
                    failures.append(repr(exc))

        threads = [threading.Thread(target=write, args=(n,)) for n in range(THREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=120)
        assert failures == []
        assert len(created) == THREADS * 15
        assert len(eng.list(alice, "customer", limit=500).items) == THREADS * 15
    finally:
        eng.close()


def test_writers_take_the_lane_in_arrival_order(tmp_path, clock, monkeypatch):
    eng = _engine_without_busy_wait(tmp_path, clock, monkeypatch)
    db = eng.db
    try:
        release = threading.Event()
        holding = threading.Event()
        order: list[int] = []

        def holder():
            with db.write():
                holding.set()
                release.wait(30)

        def writer(n):
            with db.write() as conn:
                order.append(n)
                conn.execute(t.counters.insert().values(form=f"lane{n}", key="", value=n))

        first = threading.Thread(target=holder)
        first.start()
        assert holding.wait(30)
        queued = []
        for n in range(6):
            th = threading.Thread(target=writer, args=(n,))
            th.start()
            queued.append(th)
            deadline = time.monotonic() + 30
            while db.lane.waiting < n + 1:  # the next one arrives after this one queued
                assert time.monotonic() < deadline, "a writer did not queue"
                time.sleep(0.005)
        release.set()
        for th in [first, *queued]:
            th.join(timeout=30)
        assert order == list(range(6))
        with db.read() as conn:
            rows = conn.execute(sa.text("SELECT value FROM counters WHERE form LIKE 'lane%' "
                                        "ORDER BY rowid")).scalars().all()
        assert rows == list(range(6))
    finally:
        eng.close()


def test_readers_do_not_wait_for_a_writer_holding_the_file(tmp_path, clock, monkeypatch):
    eng = _engine_without_busy_wait(tmp_path, clock, monkeypatch)
    try:
        alice = eng.user("alice")
        rec = eng.create(alice, "customer", {"name": "before"})
        holding, release = threading.Event(), threading.Event()

        def slow_writer():
            with eng.db.write() as conn:
                conn.execute(t.counters.insert().values(form="slow", key="", value=1))
                holding.set()
                release.wait(30)

        th = threading.Thread(target=slow_writer)
        th.start()
        assert holding.wait(30)
        try:
            started = time.monotonic()
            for _ in range(20):
                assert eng.get(alice, "customer", rec.id).data["name"] == "before"
            assert time.monotonic() - started < 5
        finally:
            release.set()
            th.join(timeout=30)
    finally:
        eng.close()
