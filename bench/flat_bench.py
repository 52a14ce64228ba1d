"""Cost flat with size: approvals, the inbox and a list page at --small vs --large rows.

    python bench/flat_bench.py [--small 100000] [--large 1000000] [--cases 200] [--rounds 3]
                               [--calls 50] [--url URL]

Uses the claim app of bench/workflow_bench.py. It fills two databases (records
of the claim form with their typed rows, one finished approval task each, in
bulk through Core), one with --small rows and one with --large, then measures
them in alternating rounds (a busy minute on a shared machine hits both sizes)
and compares the medians over the rounds:
  approvals  actions/s of --cases create-submit-approve-approve cases (Engine.act)
  inbox      median of --calls Engine.tasks() for a user with 20 open tasks
  list page  median of --calls Engine.list(limit=50) as the claim owner (newest first; its total
             counted up to 1,000 past the page: capped_total), and with every row counted
             (the API's ?total=exact: a COUNT over every readable row, shown, not a goal)
and prints large/small per figure (goal: within 15%). Filling 1M rows takes a
few minutes; the tiny run in tests/test_benches.py uses a few thousand.
"""
from __future__ import annotations

import argparse
import inspect
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from workflow_bench import run_engine, write_app  # noqa: E402

from engine.engine import Engine  # noqa: E402

BATCH = 20_000
# a page shown to a person counts up to 1,000 past the page (`capped_total`); a tree without
# it counts every readable row on every page
CAPPED = "capped_total" in inspect.signature(Engine.list).parameters
PAGE = {"capped_total": True} if CAPPED else {}


def fill(eng, start: int, stop: int) -> None:
    """Records start..stop-1 of form claim (done), their typed rows and one done task each."""
    from engine.store import tables as t

    typed = eng.typed["claim"].table
    base = datetime(2025, 1, 1)
    t0 = time.perf_counter()
    for lo in range(start, stop, BATCH):
        hi = min(stop, lo + BATCH)
        with eng.db.write() as conn:
            rows = [{"form": "claim", "number": f"FILL-{i}", "state": "done",
                     "data": {"title": f"f{i}", "amount": "1.00"}, "version": 4, "owner": "filler",
                     "created_at": base + timedelta(seconds=i), "updated_at": base + timedelta(seconds=i)}
                    for i in range(lo, hi)]
            ids = conn.execute(t.records.insert().returning(t.records.c.id, sort_by_parameter_order=True),
                               rows).scalars().all()
            conn.execute(typed.insert(), [
                {"_id": rid, "_number": f"FILL-{lo + k}", "_state": "done", "_owner": "filler",
                 "title": "f", "amount": 1, "_created_at": base, "_updated_at": base}
                for k, rid in enumerate(ids)])
            conn.execute(t.tasks.insert(), [
                {"record_id": rid, "form": "claim", "step": "lead_review", "visit": 1,
                 "kind": "approve", "assignee": f"u{rid % 5000}", "status": "done",
                 "decision": "approve", "position": 500, "created_at": base, "decided_at": base}
                for rid in ids])
        done = hi - start
        print(f"\r  filling: {hi:>9,}/{stop:,} ({done / (time.perf_counter() - t0):,.0f} rows/s)",
              end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)


def measure(eng, cases: int, calls: int) -> dict:
    """One round of every figure on `eng`."""
    clerk, lead = eng.user("clerk"), eng.user("lead")
    run_engine(eng, 2)  # warm up
    took = run_engine(eng, cases)

    def median_ms(fn) -> float:
        fn()
        times = []
        for _ in range(calls):
            s = time.perf_counter()
            fn()
            times.append((time.perf_counter() - s) * 1000)
        return statistics.median(times)

    out = {"approvals/s": 4 * cases / took,
           "inbox ms": median_ms(lambda: eng.tasks(lead, "open")),
           "list page ms": median_ms(lambda: eng.list(clerk, "claim", limit=50, **PAGE))}
    if CAPPED:  # what `?total=exact` costs: a COUNT over every readable row (not flat)
        out["list exact ms"] = median_ms(lambda: eng.list(clerk, "claim", limit=50))
    return out


def build(app: Path, url: str, rows: int) -> Engine:
    """A database of the claim app: the lead's 20 open tasks, then `rows` filled records."""
    eng = Engine(str(app), url)
    for name in ("clerk", "lead", "boss", "filler"):
        eng.add_user(name, [name if name != "filler" else "clerk"])
    clerk = eng.user("clerk")
    for i in range(20):  # the lead's inbox: 20 open tasks, the same in both databases
        rec = eng.create(clerk, "claim", {"title": f"open{i}", "amount": "10.00"})
        eng.act(clerk, "claim", rec.id, "submit")
    fill(eng, 0, rows)
    return eng


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=100_000)
    ap.add_argument("--large", type=int, default=1_000_000)
    ap.add_argument("--cases", type=int, default=200, help="approval cases per round")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per size, alternating")
    ap.add_argument("--calls", type=int, default=50, help="timed calls per read figure and round")
    ap.add_argument("--url", default=None,
                    help="database URL of the large database (default: temporary SQLite files); "
                         "the small one is the same URL with _small appended to its name")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="loom-flat-"))
    write_app(tmp / "app")
    if args.url:
        small_url, large_url = args.url + "_small", args.url
    else:
        small_url, large_url = f"sqlite:///{tmp / 'small.db'}", f"sqlite:///{tmp / 'large.db'}"
    engines = {"small": build(tmp / "app", small_url, args.small),
               "large": build(tmp / "app", large_url, args.large)}
    rounds: dict[str, list[dict]] = {"small": [], "large": []}
    for _ in range(args.rounds):  # alternate, so a busy minute on the machine hits both sizes
        for size, eng in engines.items():
            rounds[size].append(measure(eng, args.cases // args.rounds or 1, args.calls))
    small = {k: statistics.median(r[k] for r in rounds["small"]) for k in rounds["small"][0]}
    large = {k: statistics.median(r[k] for r in rounds["large"]) for k in rounds["large"][0]}
    print(f"database: {engines['large'].db.dialect}; {args.cases} approval cases and "
          f"{args.rounds} alternating rounds per size; medians over the rounds")
    print(f"{'figure':14} {args.small:>12,} {args.large:>12,}  large/small")
    for key in small:
        # a rate falls as it gets worse, a time rises: show the cost ratio either way
        cost = small[key] / large[key] if key.endswith("/s") else large[key] / small[key]
        goal = "(?total=exact: no goal)" if key == "list exact ms" else "(goal <= 1.15)"
        print(f"{key:14} {small[key]:12,.2f} {large[key]:12,.2f}  cost x{cost:.2f} {goal}")
    for eng in engines.values():
        eng.close()


if __name__ == "__main__":
    main()
