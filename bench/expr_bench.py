"""Compiled expression vs parse-and-evaluate on every call.

    python bench/expr_bench.py [N]

Prints both rates and their ratio (the target is at least 20x).
"""
from __future__ import annotations

import sys
from pathlib import Path
import time
from datetime import date, datetime
from decimal import Decimal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from engine.expr import Env, MappingContext, default_functions, parse  # noqa: E402
from engine.expr import types as T  # noqa: E402

CONDITION = ("total >= 100000 and customer.region in ['north', 'east'] "
             "and due_date <= today() + 3")
ENV = Env(
    names={"total": T.t(T.MONEY), "customer": T.link("customer"), "due_date": T.t(T.DATE),
           "user": T.t(T.USER)},
    forms={"customer": {"region": T.Type(T.TEXT, options=("north", "east", "south", "west"))}},
)
CUSTOMERS = {1: {"region": "north"}, 2: {"region": "south"}}
RECORDS = [{"total": Decimal(100000 + i * 7), "customer": 1 + i % 2,
            "due_date": date(2024, 3, 1 + i % 20)} for i in range(100)]
NOW = datetime(2024, 3, 7, 9, 0)


def contexts(n: int):
    for i in range(n):
        yield MappingContext(RECORDS[i % len(RECORDS)], loader=lambda f, r: CUSTOMERS.get(r),
                             clock=lambda: NOW)


def rate(label: str, n: int, body) -> float:
    start = time.perf_counter()
    hits = body(n)
    elapsed = time.perf_counter() - start
    per_second = n / elapsed
    print(f"{label:<28} {per_second:>12,.0f} evaluations/s  ({hits} true of {n})")
    return per_second


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    functions = default_functions()
    compiled = parse(CONDITION).compile_python(ENV, functions)

    def run_compiled(count):
        return sum(1 for ctx in contexts(count) if compiled(ctx))

    def run_reparsed(count):
        # what a naive engine does: parse, check and build the closure for every record
        return sum(1 for ctx in contexts(count)
                   if parse(CONDITION).compile_python(ENV, functions)(ctx))

    fast = rate("compiled once", n, run_compiled)
    slow = rate("parsed every time", max(n // 20, 500), run_reparsed)
    print(f"ratio {fast / slow:.1f}x (target >= 20x)")


if __name__ == "__main__":
    main()
