"""Two writers on one record: one wins, the other gets a conflict; nothing is lost."""
from __future__ import annotations

import multiprocessing
import threading

from engine.errors import Conflict
from tests.conftest import VALID, make_engine

THREADS = 8
ATTEMPTS = 200


def _hammer(engine, user, record_id, tag, attempts, barrier, acknowledged):
    barrier.wait()
    for i in range(attempts):
        name = f"{tag}-{i}"
        current = engine.get(user, "customer", record_id)
        try:
            engine.update(user, "customer", record_id, {"name": name}, version=current.version)
        except Conflict:
            continue
        acknowledged.append(name)


def _assert_nothing_lost(engine, user, record_id, acknowledged):
    events = engine.history(user, "customer", record_id)
    updates = [e for e in events if e.action == "update"]
    written = [e.diff["name"][1] for e in updates]
    assert sorted(written) == sorted(acknowledged)
    assert len(set(written)) == len(written)
    final = engine.get(user, "customer", record_id)
    assert final.version == 1 + len(acknowledged)
    assert final.data["name"] == written[-1]
    # each event saw the version before it: a chain with no gaps
    assert [e.version for e in updates] == list(range(2, 2 + len(updates)))


def test_eight_threads_updating_one_record_lose_no_write(engine, users):
    alice = users["alice"]
    rec = engine.create(alice, "customer", {"name": "start"})
    barrier = threading.Barrier(THREADS)
    acknowledged: list[str] = []
    threads = [threading.Thread(target=_hammer, args=(engine, alice, rec.id, f"t{n}", ATTEMPTS,
                                                      barrier, acknowledged))
               for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
        assert not t.is_alive(), "a writer hung"
    assert acknowledged, "no write succeeded"
    _assert_nothing_lost(engine, alice, rec.id, acknowledged)


def _process_writer(url, record_id, tag, attempts, barrier, queue):
    from engine.clock import Clock

    engine = make_engine(VALID, url, Clock())
    user = engine.user("alice")
    acknowledged: list[str] = []
    _hammer(engine, user, record_id, tag, attempts, barrier, acknowledged)
    queue.put(acknowledged)
    engine.close()


def test_four_processes_updating_one_record_lose_no_write(engine, users, database_url):
    alice = users["alice"]
    rec = engine.create(alice, "customer", {"name": "start"})
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_process_writer, args=(database_url, rec.id, f"p{n}", ATTEMPTS,
                                                      barrier, queue)) for n in range(4)]
    for p in procs:
        p.start()
    acknowledged = []
    for _ in procs:
        acknowledged.extend(queue.get(timeout=240))
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    _assert_nothing_lost(engine, alice, rec.id, acknowledged)


def test_concurrent_creators_get_unique_numbers(engine, users):
    alice = users["alice"]
    barrier = threading.Barrier(THREADS)
    numbers: list[str] = []

    def create(n):
        barrier.wait()
        for i in range(10):
            numbers.append(engine.create(alice, "customer", {"name": f"c{n}-{i}"}).number)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(numbers) == THREADS * 10
    assert len(set(numbers)) == len(numbers)
