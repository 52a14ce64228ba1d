"""SQLite writers of one process queue in the writer lane, in arrival order; readers never wait.

These run on a SQLite file on purpose (the lane is SQLite's; PostgreSQL queues
writers on row locks). SQLite's busy handler is switched off (busy_timeout 0):
a writer that met a held file lock would fail at once with "database is
locked", so every write succeeding proves no writer ever waited on the file.
"""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event

from engine.store import database as database_module
from engine.store import tables as t
from engine.clock import Clock
from tests.conftest import VALID, make_engine

ROOT = Path(__file__).resolve().parents[2]

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


def test_queued_writers_share_one_commit_and_a_failed_one_is_undone_alone(tmp_path, clock,
                                                                           monkeypatch):
    eng = _engine_without_busy_wait(tmp_path, clock, monkeypatch)
    db = eng.db
    commits: list = []

    def count(_conn):
        commits.append(1)

    try:
        release, holding = threading.Event(), threading.Event()
        outcome: dict[int, str] = {}

        def holder():
            with db.write() as conn:
                conn.execute(t.counters.insert().values(form="group", key="holder", value=0))
                holding.set()
                release.wait(30)
            outcome[-1] = "ok"

        def writer(n):
            try:
                with db.write() as conn:
                    conn.execute(t.counters.insert().values(form="group", key=f"w{n}", value=n))
                    if n == 2:
                        raise ValueError("this write fails")
                outcome[n] = "ok"
            except ValueError:
                outcome[n] = "failed"

        first = threading.Thread(target=holder)
        first.start()
        assert holding.wait(30)
        event.listen(db.engine, "commit", count)
        queued = []
        for n in range(5):
            th = threading.Thread(target=writer, args=(n,))
            th.start()
            queued.append(th)
            deadline = time.monotonic() + 30
            while db.lane.waiting < n + 1:
                assert time.monotonic() < deadline, "a writer did not queue"
                time.sleep(0.005)
        release.set()
        for th in [first, *queued]:
            th.join(timeout=30)
        event.remove(db.engine, "commit", count)
        assert outcome == {-1: "ok", 0: "ok", 1: "ok", 2: "failed", 3: "ok", 4: "ok"}
        assert len(commits) == 1  # six writers, one commit (one fsync)
        with db.read() as conn:
            keys = conn.execute(sa.text("SELECT key FROM counters WHERE form = 'group' "
                                        "ORDER BY key")).scalars().all()
        assert keys == ["holder", "w0", "w1", "w3", "w4"]
    finally:
        eng.close()


def test_kill_dash_nine_during_group_commits_loses_no_acknowledged_write(tmp_path):
    db = tmp_path / "group-crash.db"
    url = f"sqlite:///{db}"
    rng = random.Random(4321)
    acked: dict[int, tuple[int, str]] = {}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(8):
        proc = subprocess.Popen([sys.executable, "-m", "tests.store.group_crash_writer", str(VALID),
                                 url, "400"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, cwd=ROOT, env=env)
        first = proc.stdout.readline()
        assert first.startswith("ack"), proc.stderr.read()
        lines = [first]
        time.sleep(rng.uniform(0.0, 0.5))
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        lines += out.splitlines()
        for line in lines:
            if line.startswith("ack "):
                _, rid, version, credit = line.split()
                acked[int(rid)] = max(acked.get(int(rid), (0, "")), (int(version), credit))
    assert len(acked) > 8

    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    raw.close()
    engine = make_engine(VALID, url, Clock())
    try:
        alice = engine.user("alice")
        for rid, (version, credit) in acked.items():
            rec = engine.get(alice, "customer", rid)
            assert rec.version >= version
            if rec.version == version:
                assert rec.data["credit_limit"] == Decimal(credit)
        # nothing half-applied: every record agrees with its last event
        for rec in engine.list(alice, "customer", limit=500).items:
            last = engine.history(alice, "customer", rec.id)[-1]
            assert last.version == rec.version
            if "credit_limit" in (last.diff or {}):
                assert Decimal(last.diff["credit_limit"][1]) == rec.data["credit_limit"]
    finally:
        engine.close()


def test_a_write_inside_a_write_on_the_same_file_through_another_engine_fails_fast(
        tmp_path, clock, monkeypatch):
    eng = _engine_without_busy_wait(tmp_path, clock, monkeypatch)
    other = make_engine(VALID, f"sqlite:///{tmp_path / 'lane.db'}", clock)
    try:
        assert other.db.lane is eng.db.lane  # one lane per file in a process
        with eng.db.write():
            try:
                with other.db.write():
                    pass
            except RuntimeError as exc:
                assert "inside another write" in str(exc)
            else:
                raise AssertionError("the nested write should have been refused")
        with other.db.write():  # the lane is free again
            pass
    finally:
        other.close()
        eng.close()


def test_writes_reuse_one_kept_connection_that_closing_the_engine_returns(tmp_path, clock,
                                                                            monkeypatch):
    eng = _engine_without_busy_wait(tmp_path, clock, monkeypatch)
    db = eng.db
    seen = []
    for n in range(3):
        with db.write() as conn:
            conn.execute(t.counters.insert().values(form="kept", key=f"k{n}", value=n))
            seen.append(conn.connection.dbapi_connection)
    assert seen[0] is seen[1] is seen[2]
    assert database_module.kept_writers(db.engine) == 1
    assert db.engine.pool.checkedout() == 1 + database_module.kept_readers(db.engine)
    eng.close()
    assert db.engine.pool.checkedout() == 0


def test_disposing_inside_a_write_lets_it_commit_and_a_later_dispose_closes_the_writer(
        tmp_path, clock, monkeypatch):
    eng = _engine_without_busy_wait(tmp_path, clock, monkeypatch)
    db = eng.db
    with db.write() as conn:
        conn.execute(t.counters.insert().values(form="kept", key="inside", value=1))
        db.dispose()
        conn.execute(t.counters.insert().values(form="kept", key="after", value=2))
    with db.read() as conn:
        keys = conn.execute(sa.text("SELECT key FROM counters WHERE form = 'kept' "
                                    "ORDER BY key")).scalars().all()
    assert keys == ["after", "inside"]
    assert database_module.kept_writers(db.engine) == 1
    eng.close()
    assert database_module.kept_writers(db.engine) == 0


def test_a_failed_commit_keeps_nothing_and_the_next_write_starts_on_a_fresh_connection(
        tmp_path, clock, monkeypatch):
    eng = _engine_without_busy_wait(tmp_path, clock, monkeypatch)
    db = eng.db
    try:
        with db.write() as conn:
            conn.execute(t.counters.insert().values(form="kept", key="before", value=0))
            first = conn.connection.dbapi_connection

        def refuse(_conn):
            raise OSError("disk I/O error")

        event.listen(db.engine, "commit", refuse)
        try:
            try:
                with db.write() as conn:
                    conn.execute(t.counters.insert().values(form="kept", key="lost", value=1))
            except OSError:
                pass
            else:
                raise AssertionError("the commit did not fail")
        finally:
            event.remove(db.engine, "commit", refuse)
        with db.write() as conn:
            conn.execute(t.counters.insert().values(form="kept", key="after", value=2))
            assert conn.connection.dbapi_connection is not first
        with db.read() as conn:
            keys = conn.execute(sa.text("SELECT key FROM counters WHERE form = 'kept' "
                                        "ORDER BY key")).scalars().all()
        assert keys == ["after", "before"]
        # the new writer (the old one went back) and the reader kept since that read
        assert db.engine.pool.checkedout() == 1 + database_module.kept_readers(db.engine)
    finally:
        eng.close()
