"""First start of `loom serve --demo`: the bundled app's demo seeded into a fresh SQLite file.

Loads the demo the way `loom serve --demo` does (app.yaml `demo:`), builds the
engine with a HeldClock and seeds; prints wall and CPU seconds (CPU is the
number to compare on a shared machine) and the records written.

    python bench/demo_bench.py [--orders 1000] [--customers 200] [--days 365]

Measured (README, "The app's demo"): ~60 s CPU for the default year on the
shared 2-core machine, the same as the engine-side demo it replaced.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from engine.auth.users import SYSTEM  # noqa: E402
from engine.cli import load_demo  # noqa: E402
from engine.clock import HeldClock  # noqa: E402
from engine.engine import Engine  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=1000)
    ap.add_argument("--customers", type=int, default=200)
    ap.add_argument("--days", type=int, default=365)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wall, cpu = time.perf_counter(), time.process_time()
        clock = HeldClock()
        eng = Engine(os.path.join(ROOT, "definitions"), f"sqlite:///{tmp}/demo.db", clock=clock)
        logins = load_demo(eng.defs.app).seed(eng, clock, lambda msg: None, orders=args.orders,
                                              customers=args.customers, days=args.days)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        records = sum(eng.list(SYSTEM, f, limit=1).total for f in eng.defs.forms)
        eng.close()
    print(f"demo seed: {args.orders} orders over {args.days} days, {len(logins)} logins, "
          f"{records} records: wall {wall:.1f} s, cpu {cpu:.1f} s")


if __name__ == "__main__":
    main()
