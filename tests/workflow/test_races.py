"""Two approvers deciding one any-mode step at the same moment: exactly one decision counts.

Threads on SQLite, separate processes on PostgreSQL; both start on a barrier.
"""
from __future__ import annotations

import multiprocessing
import threading


from engine.auth.users import SYSTEM
from engine.errors import Conflict
from tests.conftest import VALID
from tests.workflow.helpers import new_order, seed_catalog


def _submitted(engine, users):
    customer, product = seed_catalog(engine, users)
    order = new_order(engine, users["alice"], customer, product)
    engine.act(users["alice"], "sales_order", order.id, "submit")
    return order


def _outcomes(results):
    return sorted("ok" if r == "ok" else r for r in results)


def test_two_approvers_at_once__one_decides_the_other_gets_a_conflict(engine, users, database_url):
    order = _submitted(engine, users)
    if database_url.startswith("postgresql"):
        results = _race_processes(database_url, order.id)
    else:
        results = _race_threads(engine, users, order.id)
    assert _outcomes(results) == ["conflict", "ok"]
    rec = engine.get(SYSTEM, "sales_order", order.id)
    assert rec.state == "approved" and rec.version == 3  # create, submit, one approve
    approvals = [e for e in engine.history(SYSTEM, "sales_order", order.id) if e.action == "approve"]
    assert len(approvals) == 1


def _race_threads(engine, users, record_id):
    barrier = threading.Barrier(2)
    results = []

    def approve(name):
        barrier.wait(timeout=10)
        try:
            engine.act(users[name], "sales_order", record_id, "approve")
            results.append("ok")
        except Conflict:
            results.append("conflict")

    threads = [threading.Thread(target=approve, args=(n,)) for n in ("sam", "sue")]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=30)
        assert not th.is_alive()
    return results


def _child(url, name, record_id, barrier, out):
    from engine.engine import Engine

    eng = Engine(str(VALID), url, migrate=False)
    user = eng.user(name)
    barrier.wait(timeout=30)
    try:
        eng.act(user, "sales_order", record_id, "approve")
        out.put("ok")
    except Conflict:
        out.put("conflict")
    except Exception as exc:  # reported, so the test shows it
        out.put(f"error: {exc!r}")
    finally:
        eng.close()


def _race_processes(url, record_id):
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_child, args=(url, n, record_id, barrier, out)) for n in ("sam", "sue")]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    return results
