"""Workflow throughput: N approval cases through the engine vs the same statements as raw Core.

    python bench/workflow_bench.py [--cases 300] [--tasks 1000000] [--url sqlite:///...]

Each case is create, submit, approve, approve (4 actions). The raw run issues
the reads and writes the engine needs for the same case (record, typed row,
events, tasks) as SQLAlchemy Core statements, one transaction per action, so
the ratio is the cost of the engine's checks, expressions and machines.
Then the inbox query is timed for one user with TASKS rows in the table.
Targets (SQLite): >= 500 actions/s, >= 30% of raw, inbox < 10 ms.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

APP = {
    "app.yaml": "app: bench\ntitle: Bench\nroles: [clerk, lead, boss]\n",
    "forms/claim.yaml": """form: claim
title: Claim
number: "CL-{seq:06}"
fields:
  - {name: title, type: text, required: true}
  - {name: amount, type: money, required: true, min: 0}
permissions: {create: [clerk], read: [clerk, lead, boss]}
""",
    "workflows/claim.yaml": """workflow: claim
form: claim
start: draft
steps:
  draft:
    edit: [owner]
    actions:
      submit: {to: lead_review, by: [owner]}
  lead_review:
    approvers: {users: [lead]}
    actions:
      approve:
        - {to: boss_review, if: "amount >= 0"}
        - {to: done}
      reject: {to: done}
  boss_review:
    approvers: {users: [boss]}
    actions:
      approve: {to: done}
      reject: {to: done}
  done: {final: true}
""",
}


def write_app(root: Path) -> None:
    for name, text in APP.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def run_engine(eng, n: int) -> float:
    clerk, lead, boss = eng.user("clerk"), eng.user("lead"), eng.user("boss")
    t0 = time.perf_counter()
    for i in range(n):
        rec = eng.create(clerk, "claim", {"title": f"c{i}", "amount": "10.00"})
        eng.act(clerk, "claim", rec.id, "submit")
        eng.act(lead, "claim", rec.id, "approve")
        eng.act(boss, "claim", rec.id, "approve")
    return time.perf_counter() - t0


def run_raw(eng, n: int, tag: str = "") -> float:
    """The same case as Core statements: what any implementation must read and write."""
    from engine.store import tables as t

    typed = eng.typed["claim"].table
    db = eng.db
    now = datetime(2026, 1, 1)
    data = {"title": "x", "amount": "10.00"}

    def step(conn, rid, version, frm, to, assignee_done, assignee_new, action, actor):
        conn.execute(sa.select(t.records).where(t.records.c.id == rid)).first()
        conn.execute(sa.select(t.tasks.c.id).where(t.tasks.c.record_id == rid,
                                                   t.tasks.c.status == "open")).all()
        if assignee_done:
            conn.execute(t.tasks.update().where(t.tasks.c.record_id == rid, t.tasks.c.status == "open")
                         .values(status="done", decision=action, decided_at=now))
        conn.execute(t.records.update().where(t.records.c.id == rid, t.records.c.version == version)
                     .values(state=to, version=version + 1, updated_at=now))
        conn.execute(typed.update().where(typed.c._id == rid).values(_state=to, _updated_at=now))
        if assignee_new:
            conn.execute(t.tasks.insert().values(record_id=rid, form="claim", step=to, visit=1,
                                                 assignee=assignee_new, status="open", created_at=now))
        conn.execute(t.events.insert().values(record_id=rid, form="claim", at=now, actor=actor,
                                              action=action, from_state=frm, to_state=to,
                                              version=version + 1))

    t0 = time.perf_counter()
    for i in range(n):
        with db.write() as conn:
            conn.execute(sa.select(t.users).where(t.users.c.name == "clerk")).first()
            num = conn.execute(sa.text("SELECT 1")).scalar()
            rid = conn.execute(t.records.insert().values(
                form="claim", number=f"RAW{tag}-{i}-{num}", state="draft", data=data, version=1,
                owner="clerk", created_at=now, updated_at=now).returning(t.records.c.id)).scalar_one()
            conn.execute(typed.insert().values(_id=rid, _state="draft", _owner="clerk", title="x",
                                               amount=10, _created_at=now, _updated_at=now))
            conn.execute(t.events.insert().values(record_id=rid, form="claim", at=now, actor="clerk",
                                                  action="create", to_state="draft", version=1))
        with db.write() as conn:
            step(conn, rid, 1, "draft", "lead_review", None, "lead", "submit", "clerk")
        with db.write() as conn:
            step(conn, rid, 2, "lead_review", "boss_review", "lead", "boss", "approve", "lead")
        with db.write() as conn:
            step(conn, rid, 3, "boss_review", "done", "boss", None, "approve", "boss")
    return time.perf_counter() - t0


def fill_tasks(eng, total: int, mine_every: int = 1000) -> None:
    from engine.store import tables as t

    ids = []
    with eng.db.read() as conn:
        ids = conn.execute(sa.select(t.records.c.id).limit(1000)).scalars().all()
    start = datetime(2026, 1, 1)
    batch = 20_000
    done = 0
    t0 = time.perf_counter()
    while done < total:
        rows = []
        for i in range(done, min(total, done + batch)):
            rows.append({"record_id": ids[i % len(ids)], "form": "claim", "step": "lead_review",
                         "visit": 1, "kind": "approve",
                         "assignee": "inbox_user" if i % mine_every == 0 else f"u{i % 5000}",
                         "status": "open" if i % 3 else "done", "position": 500,
                         "created_at": start + timedelta(seconds=i)})
        with eng.db.write() as conn:
            conn.execute(t.tasks.insert(), rows)
        done += len(rows)
        rate = done / (time.perf_counter() - t0)
        print(f"\r  generating tasks: {done:>9,}/{total:,} ({done * 100 // total:3d}%, "
              f"{rate:,.0f} rows/s)", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--tasks", type=int, default=1_000_000)
    ap.add_argument("--url", default=None, help="database URL (default: a temporary SQLite file)")
    args = ap.parse_args()

    from engine.engine import Engine

    tmp = Path(tempfile.mkdtemp(prefix="loom-wfbench-"))
    write_app(tmp / "app")
    url = args.url or f"sqlite:///{tmp / 'bench.db'}"
    eng = Engine(str(tmp / "app"), url)
    for name, role in (("clerk", "clerk"), ("lead", "lead"), ("boss", "boss")):
        eng.add_user(name, [role])
    eng.add_user("inbox_user", ["lead"])

    run_engine(eng, 20)  # warm up: compile caches, connection pool
    run_raw(eng, 20, "w")
    n = args.cases
    c0 = time.process_time()
    te = run_engine(eng, n)
    c1 = time.process_time()
    tr = run_raw(eng, n)
    c2 = time.process_time()
    actions = 4 * n
    ea, ra = actions / te, actions / tr
    # CPU per action too: wall time on a shared machine is mostly other processes and fsync
    print(f"database: {eng.db.dialect}")
    print(f"engine: {n} cases, {actions} actions in {te:.2f}s = {ea:,.0f} actions/s "
          f"(cpu {(c1 - c0) / actions * 1e6:,.0f} us/action)")
    print(f"raw   : {n} cases, {actions} actions in {tr:.2f}s = {ra:,.0f} actions/s "
          f"(cpu {(c2 - c1) / actions * 1e6:,.0f} us/action)")
    print(f"ratio : engine is {ea / ra:.0%} of raw (target >= 30%; >= 500 actions/s on SQLite)")

    if args.tasks:
        fill_tasks(eng, args.tasks)
        user = eng.user("inbox_user")
        times = []
        for _ in range(30):
            t0 = time.perf_counter()
            rows = eng.tasks(user, "open")
            times.append((time.perf_counter() - t0) * 1000)
        print(f"inbox : {len(rows)} open tasks shown (page of 100) for one user among "
              f"{args.tasks:,} tasks: median {statistics.median(times):.2f} ms, "
              f"max {max(times):.2f} ms (target < 10 ms)")
    eng.close()


if __name__ == "__main__":
    main()
