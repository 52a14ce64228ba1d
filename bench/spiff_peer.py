"""Approvals per transaction: Loom against a SpiffWorkflow peer, same machine, same run, same durability.

    python bench/spiff_peer.py [--cases 300] [--rounds 3] [--threads 8]

Needs the optional bench dependency: pip install -c constraints.txt '.[bench]'
(SpiffWorkflow). Both sides run the case of bench/workflow_bench.py — create,
submit, approve by the lead, a condition (amount >= 0), approve by the boss —
as 4 transactions, each one fsync'd commit on SQLite in WAL with
synchronous=FULL, and are counted the same way: actions (= transactions) per
second of wall time, and CPU microseconds per action.

The peer is what a service built on SpiffWorkflow's core engine writes per
action: in one transaction it reads the case row (its JSON workflow state and
data), checks that the user holds the ready task, runs the task and the
workflow up to the next manual task, writes the state back with its current
step and assignee (the inbox) and appends a history row. Rounds alternate the
two sides, so noise from other processes on the machine falls on both.

A second part (--threads, default 8) runs the same cases from that many
concurrent clients per side: the peer's clients each hold a connection and meet
at SQLite's file lock; Loom's queue in its writer lane and share commits (group
commit: one fsync for the writers queued together, each acknowledged after it).
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from workflow_bench import run_engine, write_app  # noqa: E402

ASSIGNEE = {"draft": "clerk", "lead_review": "lead", "boss_review": "boss"}
ROLES = {"clerk": "clerk", "lead": "lead", "boss": "boss"}


def spiff_spec():
    from SpiffWorkflow.operators import Attrib, GreaterThan
    from SpiffWorkflow.specs.ExclusiveChoice import ExclusiveChoice
    from SpiffWorkflow.specs.Simple import Simple
    from SpiffWorkflow.specs.WorkflowSpec import WorkflowSpec

    spec = WorkflowSpec("claim", addstart=True)
    draft = Simple(spec, "draft", manual=True)
    lead = Simple(spec, "lead_review", manual=True)
    choice = ExclusiveChoice(spec, "lead_approved")
    boss = Simple(spec, "boss_review", manual=True)
    done = Simple(spec, "done")
    spec.start.connect(draft)
    draft.connect(lead)
    lead.connect(choice)
    choice.connect_if(GreaterThan(Attrib("amount"), -1), boss)  # amount >= 0 (an integer of cents)
    choice.connect(done)
    boss.connect(done)
    return spec


class SpiffPeer:
    """Cases with their SpiffWorkflow state as JSON in SQLite, one transaction per action."""

    def __init__(self, path: str):
        from SpiffWorkflow.serializer.json import JSONSerializer

        self.spec = spiff_spec()
        self.ser = JSONSerializer()
        self.db = sqlite3.connect(path, isolation_level=None, timeout=60, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.executescript("""
            CREATE TABLE IF NOT EXISTS cases (id INTEGER PRIMARY KEY, title TEXT, amount INTEGER,
                owner TEXT, step TEXT, assignee TEXT, version INTEGER, state TEXT);
            CREATE INDEX IF NOT EXISTS ix_cases_inbox ON cases (assignee, id);
            CREATE TABLE IF NOT EXISTS history (id INTEGER PRIMARY KEY, case_id INTEGER, at TEXT,
                actor TEXT, action TEXT, step TEXT, version INTEGER);
            CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, role TEXT);
        """)
        self.db.executemany("INSERT OR IGNORE INTO users VALUES (?, ?)", ROLES.items())

    def _ready(self, wf):
        from SpiffWorkflow.util.task import TaskState

        tasks = wf.get_tasks(state=TaskState.READY, manual=True)
        return tasks[0] if tasks else None

    def create(self, user: str, title: str, amount: int) -> int:
        from SpiffWorkflow.workflow import Workflow

        cur = self.db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            cur.execute("SELECT role FROM users WHERE name = ?", (user,)).fetchone()
            wf = Workflow(self.spec)
            wf.run_all(halt_on_manual=True)
            first = self._ready(wf)
            first.set_data(title=title, amount=amount, owner=user)  # flows on to the later tasks
            step = first.task_spec.name
            cur.execute("INSERT INTO cases (title, amount, owner, step, assignee, version, state) "
                        "VALUES (?, ?, ?, ?, ?, 1, ?)",
                        (title, amount, user, step, ASSIGNEE[step], self.ser.serialize_workflow(wf)))
            cid = cur.lastrowid
            cur.execute("INSERT INTO history (case_id, at, actor, action, step, version) "
                        "VALUES (?, datetime('now'), ?, 'create', ?, 1)", (cid, user, step))
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return cid

    def act(self, user: str, cid: int, action: str) -> str:
        cur = self.db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            cur.execute("SELECT role FROM users WHERE name = ?", (user,)).fetchone()
            step, assignee, version, state = cur.execute(
                "SELECT step, assignee, version, state FROM cases WHERE id = ?", (cid,)).fetchone()
            if assignee != user:
                raise PermissionError(f"{user} holds no task of case {cid}")
            wf = self.ser.deserialize_workflow(state, wf_spec=self.spec)
            task = self._ready(wf)
            if task is None or task.task_spec.name != step:
                raise RuntimeError(f"case {cid} is not in {step}")
            task.set_data(decision=action, decided_by=user)
            wf.run_task_from_id(task.id)
            wf.run_all(halt_on_manual=True)
            nxt = self._ready(wf)
            new_step = nxt.task_spec.name if nxt else "done"
            cur.execute("UPDATE cases SET step = ?, assignee = ?, version = ?, state = ? "
                        "WHERE id = ? AND version = ?",
                        (new_step, ASSIGNEE.get(new_step), version + 1,
                         self.ser.serialize_workflow(wf), cid, version))
            cur.execute("INSERT INTO history (case_id, at, actor, action, step, version) "
                        "VALUES (?, datetime('now'), ?, ?, ?, ?)", (cid, user, action, new_step,
                                                                   version + 1))
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return new_step

    def run(self, n: int, tag: str = "") -> float:
        t0 = time.perf_counter()
        for i in range(n):
            cid = self.create("clerk", f"c{tag}{i}", 1000)
            self.act("clerk", cid, "submit")
            self.act("lead", cid, "approve")
            last = self.act("boss", cid, "approve")
            assert last == "done", last
        return time.perf_counter() - t0

    def close(self) -> None:
        self.db.close()


def in_threads(k: int, fn) -> float:
    """Wall seconds for `fn(i)` run on k threads at once."""
    import threading

    threads = [threading.Thread(target=fn, args=(i,)) for i in range(k)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=300, help="cases per side per round (4 actions each)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=8,
                    help="concurrent clients per side in the second part (1: skip it)")
    args = ap.parse_args()
    try:
        import SpiffWorkflow  # noqa: F401
    except ImportError:
        raise SystemExit("SpiffWorkflow is not installed: pip install -c constraints.txt '.[bench]'")
    from engine.engine import Engine

    tmp = Path(tempfile.mkdtemp(prefix="loom-spiff-"))
    write_app(tmp / "app")
    eng = Engine(str(tmp / "app"), f"sqlite:///{tmp / 'loom.db'}")
    for name in ROLES:
        eng.add_user(name, [ROLES[name]])
    peer = SpiffPeer(str(tmp / "spiff.db"))
    run_engine(eng, 10)  # warm up both
    peer.run(10)
    n, actions = args.cases, 4 * args.cases
    ratios = []
    print(f"SQLite WAL synchronous=FULL on both sides; {n} cases = {actions} actions "
          "(transactions) per side per round")
    for r in range(args.rounds):
        c0 = time.process_time()
        tl = run_engine(eng, n)
        c1 = time.process_time()
        ts = peer.run(n)
        c2 = time.process_time()
        la, sa_ = actions / tl, actions / ts
        ratios.append(la / sa_)
        print(f"round {r + 1}: loom {la:7,.0f} actions/s (cpu {(c1 - c0) / actions * 1e6:5,.0f} us) | "
              f"spiff {sa_:7,.0f} actions/s (cpu {(c2 - c1) / actions * 1e6:5,.0f} us) | "
              f"ratio {la / sa_:.2f}x")
    print(f"ratio loom/spiff per transaction: {min(ratios):.2f}x .. {max(ratios):.2f}x (goal >= 2x)")
    if args.threads > 1:
        # concurrent clients: the peer's threads each have their own connection and meet at
        # SQLite's file lock (busy handler); Loom's queue in its writer lane and share commits
        peers = [SpiffPeer(str(tmp / "spiff.db")) for _ in range(args.threads)]
        per = max(1, n // args.threads)
        total = 4 * per * args.threads
        cratios = []
        for r in range(args.rounds):
            tl = in_threads(args.threads, lambda k: run_engine(eng, per))
            ts = in_threads(args.threads, lambda k: peers[k].run(per, f"t{r}-{k}-"))
            la, sa_ = total / tl, total / ts
            cratios.append(la / sa_)
            print(f"{args.threads} threads, round {r + 1}: loom {la:7,.0f} actions/s | "
                  f"spiff {sa_:7,.0f} actions/s | ratio {la / sa_:.2f}x")
        print(f"ratio loom/spiff with {args.threads} concurrent clients: {min(cratios):.2f}x .. "
              f"{max(cratios):.2f}x")
        for p in peers:
            p.close()
    peer.close()
    eng.close()


if __name__ == "__main__":
    main()
