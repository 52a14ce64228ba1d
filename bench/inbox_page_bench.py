"""The inbox page, server side, over the bundled app's demo year.

Seeds the demo (default: a year, 1000 orders, 200 customers) into a SQLite file
(kept when --db names one that exists, so a second run only measures), logs in
as each demo user who has tasks, and times GET /inbox (open, done, and a form
filter) through the Flask app: best and median of 10 runs per page. Target:
under 150 ms server side (issue 16).

Measured (shared 2-core machine, load ~10): open inbox 16–37 ms median for every
demo user; li.na's Done tab (551 decided tasks, a page of 50) 80 ms median, the
worst (211 ms before linked titles were read with one query per form).

    python bench/inbox_page_bench.py [--db /tmp/demo.db] [--orders 1000]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from engine.cli import load_demo  # noqa: E402
from engine.clock import HeldClock  # noqa: E402
from engine.engine import Engine  # noqa: E402
from web import create_app  # noqa: E402

PASSWORD = "bench-pass-123"
PAGES = ("/inbox", "/inbox?status=done", "/inbox?form=sales_order&sort=due", "/")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="/tmp/loom-inbox-bench.db")
    ap.add_argument("--orders", type=int, default=1000)
    ap.add_argument("--customers", type=int, default=200)
    ap.add_argument("--days", type=int, default=365)
    args = ap.parse_args()
    fresh = not os.path.exists(args.db)
    clock = HeldClock()
    eng = Engine(os.path.join(ROOT, "definitions"), f"sqlite:///{args.db}", clock=clock)
    if fresh:
        t0 = time.process_time()
        load_demo(eng.defs.app).seed(eng, clock, lambda msg: None, orders=args.orders,
                                     customers=args.customers, days=args.days, password=PASSWORD)
        print(f"seeded in {time.process_time() - t0:.0f} s CPU")
    app = create_app(eng, secret_key="bench")
    app.config["WTF_CSRF_ENABLED"] = False
    worst = 0.0
    for user in eng.users.all():
        open_n = eng.task_count(user)
        done_n = len(eng.tasks(user, "done", limit=1000))
        if not open_n and not done_n:
            continue
        client = app.test_client()
        client.post("/login", data={"username": user.name, "password": PASSWORD})
        for url in PAGES:
            client.get(url)  # warm
            runs = []
            for _ in range(10):
                t = time.perf_counter()
                assert client.get(url).status_code == 200
                runs.append(time.perf_counter() - t)
            worst = max(worst, statistics.median(runs))
            print(f"{user.name:10} open={open_n:3} done={done_n:4} {url:36} "
                  f"best {min(runs) * 1000:6.1f} ms  median {statistics.median(runs) * 1000:6.1f} ms")
    print(f"worst median: {worst * 1000:.1f} ms (target < 150 ms)")
    eng.close()


if __name__ == "__main__":
    main()
