"""Form runtime micro-benchmark: prepare/dump/load/diff of a 5-line sales order.

Run: python bench/forms_bench.py [DEFINITIONS_DIR]. Prints µs per call; the
target is prepare well under 1 ms. Services are in-memory (no database), so
this measures the runtime's own Python cost.
"""
from __future__ import annotations

import os
import sys
import time
from datetime import datetime
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from engine.auth.users import User  # noqa: E402
from engine.clock import FrozenClock  # noqa: E402
from engine.definitions.catalog import load_definitions  # noqa: E402
from engine.forms.runtime import FormRuntime  # noqa: E402
from engine.bootstrap import default_registries  # noqa: E402


class MemoryServices:
    def __init__(self, records):
        self.records = records
        self.clock = FrozenClock(datetime(2024, 3, 5, 10, 0))

    def load(self, form, id):
        return self.records.get((form, id))

    def user_exists(self, name):
        return name in ("alice", "bob")


def per_call(fn, seconds=1.0) -> float:
    """Best-of-5 µs per call."""
    n, t = 1, 0.0
    while t < 0.05:  # calibrate
        n *= 2
        start = time.perf_counter()
        for _ in range(n):
            fn()
        t = time.perf_counter() - start
    reps = max(1, int(n * (seconds / 5) / t))
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - start) / reps)
    return best * 1e6


def main() -> None:
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "tests", "fixtures", "valid")
    regs = default_registries(load_plugins=False)
    defs = load_definitions(root, regs)
    start = time.perf_counter()
    rt = FormRuntime(defs.forms["sales_order"], defs, regs)
    build_ms = (time.perf_counter() - start) * 1e3
    records = {("customer", 1): {"name": "ACME"}}
    records.update({("product", i): {"name": f"P{i}", "price": Decimal("19.99") + i}
                    for i in range(1, 6)})
    services = MemoryServices(records)
    user = User("alice", frozenset({"sales"}))
    raw = {"customer": 1, "due_date": "2024-04-01", "channel": "phone", "discount": "5",
           "discount_reason": "loyal customer",
           "lines": [{"product": i, "qty": str(i + 1)} for i in range(1, 6)]}
    values = rt.prepare(raw, user=user, services=services)
    data = rt.dump(values)
    patch = {"channel": "email"}
    changed = rt.prepare(patch, user=user, existing=values, services=services)

    print(f"FormRuntime(sales_order) build: {build_ms:.1f} ms (once per form)")
    print(f"prepare create, 5 lines:  {per_call(lambda: rt.prepare(raw, user=user, services=services)):7.1f} µs")
    print(f"prepare patch, 5 lines:   {per_call(lambda: rt.prepare(patch, user=user, existing=values, services=services)):7.1f} µs")
    print(f"dump:                     {per_call(lambda: rt.dump(values)):7.1f} µs")
    print(f"load:                     {per_call(lambda: rt.load(data)):7.1f} µs")
    print(f"diff:                     {per_call(lambda: rt.diff(values, changed)):7.1f} µs")
    print(f"defaults:                 {per_call(lambda: rt.defaults(user, services)):7.1f} µs")


if __name__ == "__main__":
    main()
