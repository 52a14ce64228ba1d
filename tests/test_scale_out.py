"""Scale-out, proven: two `loom serve` and two `loom worker` processes on one PostgreSQL
database. Approvals race through both web processes at once, alerts fire from both, one
worker is killed (SIGKILL) while it holds leased deliveries, and still every approval
happens exactly once and every notification reaches its receiver exactly once.

PostgreSQL only: SQLite is the one-machine store. As in test_backends.py, a run without
LOOM_TEST_DATABASE_URL (the SQLite-only suite) has nothing to scale out to.
"""
from __future__ import annotations

import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa

from engine.clock import Clock
from engine.store import tables as t
from tests.alerts.conftest import SECRET, SmtpServer, WebhookServer, free_port
from tests.conftest import FIXTURES, PG_URL, PgSchema, make_engine

ROOT = Path(__file__).resolve().parents[1]
ORDERS = 24
LEASE_SECONDS = 8  # the killed worker's leased rows come back after this


def call(port: int, method: str, path: str, token: str, body: dict | None = None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {token}",
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Processes:
    """`loom` processes of one test; every one is stopped at the end."""

    def __init__(self, env: dict, logs: Path):
        self.env, self.logs, self.procs = env, logs, []

    def start(self, *args: str) -> subprocess.Popen:
        log = self.logs / f"{args[0]}-{len(self.procs)}.log"
        with open(log, "w") as err:  # a file, not a pipe nobody drains
            proc = subprocess.Popen([sys.executable, "-m", "engine.cli", *args], env=self.env,
                                    cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
        proc.log = log
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_two_servers_and_two_workers_on_one_database__nothing_lost_or_doubled(tmp_path):
    if not PG_URL:  # SQLite-only run: scale-out needs the shared PostgreSQL store
        return
    schema = PgSchema()
    smtp, hook = SmtpServer(), WebhookServer()
    smtp.start()
    hook.delay = 0.05  # deliveries take a while, so a worker holds leases when it is killed
    app = tmp_path / "app"
    shutil.copytree(FIXTURES / "scaleout", app)
    alert = app / "alerts" / "order_approved.yaml"
    alert.write_text(alert.read_text().replace("http://127.0.0.1:9/hook", hook.url))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LOOM_DATABASE_URL": schema.url,
           "LOOM_DEFINITIONS": str(app), "LOOM_SMTP_URL": smtp.url, "LOOM_WEBHOOK_SECRET": SECRET,
           "LOOM_OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS)}
    procs = Processes(env, tmp_path)
    eng = make_engine(app, schema.url, Clock())
    try:
        for name, roles in (("alice", ["sales"]), ("sam", ["sales_manager"]),
                            ("sue", ["sales_manager"])):
            eng.add_user(name, roles, email=f"{name}@example.com")
        tokens = {name: eng.create_token(name) for name in ("alice", "sam", "sue")}

        ports = [free_port(), free_port()]
        for port in ports:
            procs.start("serve", "--port", str(port), "--threads", "4")
        workers = [procs.start("worker", "--interval", "0.2") for _ in range(2)]
        for port in ports:
            wait_for(lambda: _up(port, tokens["alice"]), 60, f"loom serve on {port}")
        for w in workers:
            wait_for(lambda: "started" in w.log.read_text(), 60, "loom worker to start")

        def order(i: int) -> tuple[int, list[int]]:
            """Create on one server, submit on the other, then sam and sue approve at once,
            each through a different server."""
            a, b = ports[i % 2], ports[1 - i % 2]
            status, rec = call(a, "POST", "/api/forms/sales_order/records", tokens["alice"],
                               {"data": {"customer": f"C{i}", "total": str(500 * (i % 4))}})
            assert status == 201, rec
            path = f"/api/forms/sales_order/records/{rec['id']}/actions"
            status, body = call(b, "POST", f"{path}/submit", tokens["alice"], {})
            assert status == 200, body
            barrier = threading.Barrier(2)

            def approve(port, who):
                barrier.wait(30)
                return call(port, "POST", f"{path}/approve", tokens[who], {})[0]

            with ThreadPoolExecutor(2) as pool:
                decided = list(pool.map(approve, (a, b), ("sam", "sue")))
            return rec["id"], decided

        killed, stranded = None, []
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(order, range(ORDERS // 2)))

            # mid-run: kill the worker that holds leased, undelivered rows right now
            def holder():
                with eng.db.read() as conn:
                    rows = conn.execute(sa.select(t.outbox.c.id, t.outbox.c.lease_owner).where(
                        t.outbox.c.status == "pending", t.outbox.c.lease_owner.is_not(None))).all()
                for w in workers:
                    mine = [r.id for r in rows if f":{w.pid}:" in r.lease_owner]
                    if mine:
                        return w, mine
                return None
            more = pool.map(order, range(ORDERS // 2, ORDERS))
            killed, stranded = wait_for(holder, 30, "a worker holding leased rows")
            killed.send_signal(signal.SIGKILL)
            killed.wait(10)
            results += list(more)

        # no approval lost or doubled: one of the two racing approvers won, the other got 409
        assert all(sorted(decided) == [200, 409] for _, decided in results), results
        ids = [rid for rid, _ in results]
        with eng.db.read() as conn:
            states = dict(conn.execute(sa.select(t.records.c.id, t.records.c.state)).all())
            approvals = collections.Counter(conn.execute(sa.select(t.events.c.record_id).where(
                t.events.c.action == "approve")).scalars())
            decided_tasks = collections.Counter(conn.execute(sa.select(t.tasks.c.record_id).where(
                t.tasks.c.decision == "approve")).scalars())
        assert {states[i] for i in ids} == {"approved"}
        assert approvals == decided_tasks == {i: 1 for i in ids}

        # every notification delivered exactly once; the dead worker's leased rows too
        with eng.db.read() as conn:
            expected = {ch: set(conn.execute(sa.select(t.outbox.c.id).where(
                t.outbox.c.channel == ch)).scalars()) for ch in ("email", "webhook")}
            inbox = collections.Counter(conn.execute(sa.select(
                t.notifications.c.user_name, t.notifications.c.record_id,
                t.notifications.c.subject)).all())
        big = sum(1 for i in range(ORDERS) if 500 * (i % 4) >= 1000)
        assert len(expected["webhook"]) == ORDERS
        assert len(expected["email"]) == ORDERS + 2 * big  # the rep's approval + both managers
        # in the inbox besides: the workflow's own news, a new task to each of the two managers
        # and the approval to the rep, per order
        assert set(inbox.values()) == {1} and len(inbox) == ORDERS + 2 * big + 3 * ORDERS

        def all_sent():
            with eng.db.read() as conn:
                return conn.execute(sa.select(sa.func.count()).select_from(t.outbox).where(
                    t.outbox.c.status != "sent")).scalar_one() == 0
        wait_for(all_sent, LEASE_SECONDS + 30, "every outbox row to be sent")
        mails = [int(m["X-Loom-Outbox-Id"]) for m in smtp.messages]
        hooks = [int(h["x-loom-delivery"]) for h, _ in hook.requests]
        assert set(mails) == expected["email"] and set(hooks) == expected["webhook"]
        assert stranded and set(stranded) <= expected["email"] | expected["webhook"]
        # at least once on the wire, once per id at the receiver: only a row the killed
        # worker had sent but not yet marked may arrive twice (same id: receivers de-duplicate)
        again = [i for i, n in collections.Counter(mails + hooks).items() if n > 1]
        assert len(again) <= 1 and set(again) <= set(stranded)
        survivor = next(w for w in workers if w is not killed)
        assert survivor.poll() is None  # still serving the queue
    finally:
        procs.stop()
        eng.close()
        smtp.stop()
        hook.close()
        schema.drop()


def _up(port: int, token: str) -> bool:
    try:
        return call(port, "GET", "/api/definitions", token)[0] == 200
    except OSError:
        return False
