"""Scheduled-alert scan benchmark: the worker's compiled scan vs hand-written SQL.

    python bench/alert_bench.py [SIZE] [--database URL] [--fire]

Generates SIZE sales orders (default 1,000,000) straight into the store
(records JSON + typed table, as the engine writes them), of which 1% match
`due_date <= today() + 3 and state not in ['shipped', 'closed']`; then times
the worker's scan (the alert's `if` compiled to SQL plus the alert_state
anti-join — exactly what `loom worker` runs) and the same query written by
hand, best of 5 each, in the same run, and prints both and the ratio.
`--fire` also runs one full tick (scan + firing every match into the inbox).
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from engine.alerts import scheduler  # noqa: E402
from engine.clock import FrozenClock  # noqa: E402
from engine.engine import Engine  # noqa: E402
from engine.store import tables as t  # noqa: E402

NOW = datetime(2026, 3, 2, 9, 0)
TODAY = NOW.date()
CHUNK = 20_000

APP = {
    "app.yaml": "app: bench\nroles: [sales]\n",
    "forms/sales_order.yaml": """form: sales_order
title: Sales order
fields:
  - {name: customer, type: text, required: true}
  - {name: due_date, type: date, required: true}
  - {name: sales_rep, type: user}
  - {name: total, type: money, default: 0}
indexes: [due_date]
""",
    "workflows/sales_order.yaml": """workflow: sales_order
form: sales_order
start: draft
steps:
  draft: {actions: {ship: {to: shipped}}}
  shipped: {actions: {close: {to: closed}}}
  closed: {final: true}
""",
    "alerts/due_soon.yaml": """alert: due_soon
form: sales_order
on: {schedule: "0 8 * * *"}
if: "due_date <= today() + 3 and state not in ['shipped', 'closed']"
notify:
  to: {field: sales_rep}
  subject: "{{customer}} is due {{due_date}}"
""",
}

HAND_WRITTEN = """
SELECT o._id FROM t_sales_order AS o
WHERE o.due_date <= :due AND o._state NOT IN ('shipped', 'closed')
  AND NOT EXISTS (SELECT 1 FROM alert_state s
                  WHERE s.alert = 'due_soon' AND s.record_id = o._id AND s.last_tick >= :tick)
ORDER BY o._id
"""


def write_app(root: Path) -> None:
    for name, text in APP.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def progress(done: int, total: int, started: float, what: str) -> None:
    rate = done / max(time.perf_counter() - started, 1e-9)
    print(f"\r{what}: {done:,}/{total:,} ({100 * done // total}%, {rate:,.0f}/s)", end="",
          file=sys.stderr, flush=True)
    if done == total:
        print(file=sys.stderr)


def generate(engine: Engine, size: int) -> int:
    """SIZE orders; every 100th is due within 3 days and open (the 1% that match)."""
    rng = random.Random(7)
    typed = engine.typed["sales_order"].table
    matching = 0
    started = time.perf_counter()
    for start in range(0, size, CHUNK):
        recs, rows = [], []
        for i in range(start + 1, min(size, start + CHUNK) + 1):
            kind = i % 100
            if kind == 0:  # matches
                due, state = TODAY + timedelta(days=rng.randint(-5, 3)), "draft"
                matching += 1
            elif kind < 10:  # due soon but shipped or closed
                due, state = TODAY + timedelta(days=rng.randint(-5, 3)), rng.choice(["shipped", "closed"])
            else:  # due later
                due, state = TODAY + timedelta(days=rng.randint(4, 400)), rng.choice(["draft", "shipped"])
            data = {"customer": f"C{i % 5000}", "due_date": due.isoformat(), "sales_rep": "rep",
                    "total": "100.00"}
            recs.append({"id": i, "form": "sales_order", "number": None, "state": state, "data": data,
                         "version": 1, "owner": "rep", "created_at": NOW, "updated_at": NOW})
            rows.append({"_id": i, "_number": None, "_state": state, "_owner": "rep",
                         "_created_at": NOW, "_updated_at": NOW, "customer": data["customer"],
                         "due_date": due, "sales_rep": "rep", "total": 10000})
        with engine.db.write() as conn:
            conn.execute(t.records.insert(), recs)
            conn.execute(typed.insert(), rows)
        progress(min(size, start + CHUNK), size, started, "generating")
    with engine.db.write() as conn:
        if engine.db.dialect == "postgresql":
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")
    return matching


def best_of(fn, runs: int = 5) -> tuple[float, int]:
    times, n = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        n = fn()
        times.append(time.perf_counter() - started)
    return min(times), n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("size", nargs="?", type=int, default=1_000_000)
    ap.add_argument("--database", default=None, help="database URL (default: a temporary SQLite file)")
    ap.add_argument("--fire", action="store_true", help="also run one full tick (scan + firing)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="loom-alert-bench-"))
    write_app(tmp / "app")
    url = args.database or f"sqlite:///{tmp / 'bench.db'}"
    clock = FrozenClock(NOW)
    engine = Engine(str(tmp / "app"), url, clock=clock)
    engine.add_user("rep", ["sales"])
    print(f"database: {engine.db.dialect}, {args.size:,} orders", file=sys.stderr)
    expected = generate(engine, args.size)

    [rt] = [r for r in engine.runtime.alerts_scheduled if r.id == "due_soon"]
    tick = scheduler.latest_tick(rt.spec.on.cron, NOW)

    def worker_scan() -> int:
        scan, _ = scheduler.scan_query(engine.services.alerts, rt, tick)  # compiled per tick, as the worker does
        with engine.db.read() as conn:
            return len(conn.execute(scan).scalars().all())

    def hand_written() -> int:
        with engine.db.read() as conn:
            return len(conn.execute(sa.text(HAND_WRITTEN), {"due": TODAY + timedelta(days=3),
                                                            "tick": tick}).scalars().all())

    worker_scan(), hand_written()  # warm the caches alike
    w_time, w_n = best_of(worker_scan)
    h_time, h_n = best_of(hand_written)
    assert w_n == h_n == expected, (w_n, h_n, expected)
    print(f"records:          {args.size:,} ({expected:,} match, "
          f"{100 * expected / max(args.size, 1):.1f}%)")
    print(f"worker scan:      {w_time * 1000:9.1f} ms  ({w_n:,} ids)")
    print(f"hand-written SQL: {h_time * 1000:9.1f} ms  ({h_n:,} ids)")
    print(f"ratio:            {w_time / h_time:9.2f}x  (target <= 1.5x)")
    if args.fire:
        started = time.perf_counter()
        res = scheduler.run_tick(engine.services.alerts, rt, tick, "bench")
        took = time.perf_counter() - started
        print(f"full tick:        {took * 1000:9.1f} ms  ({res.fired:,} fired into the inbox, "
              f"{res.fired / took:,.0f}/s)")
    engine.close()
    if not args.database:
        for p in tmp.glob("bench.db*"):
            os.remove(p)


if __name__ == "__main__":
    main()
