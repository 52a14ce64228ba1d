"""Import benchmark: N sales-order lines (default 100,000) from one XLSX or CSV file.

    python bench/import_bench.py [--lines 100000] [--per-order 5] [--format csv|xlsx]
                                 [--database sqlite:///tmp/bench.db] [--dry-run]

Generates master data through the engine, writes the file, then times
`Engine.import_file` (rows checked with no write lock, then written in short
batches; all or none) and prints progress and the rate.
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from engine.engine import Engine  # noqa: E402

DEFS = os.path.join(os.path.dirname(__file__), "..", "definitions")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--per-order", type=int, default=5)
    ap.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    ap.add_argument("--database", default=None)
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp()
    url = args.database or f"sqlite:///{tmp}/bench.db"
    eng = Engine(DEFS, url)
    admin = eng.add_user("admin", ["admin"], is_admin=True, password="bench-admin-123")
    walt = eng.add_user("walt", ["warehouse"], password="bench-walt-1234")
    fiona = eng.add_user("fiona", ["finance"], password="bench-fiona-123")
    rnd = random.Random(1)
    with eng.batch():
        wh = eng.create(admin, "warehouse", {"code": "SH", "name": "Shanghai"})
        items = []
        for i in range(50):
            p = eng.create(admin, "product", {"sku": f"P-{i:03}", "name": f"Product {i}",
                                              "price": str(rnd.randint(10, 900))})
            items.append(eng.create(admin, "stock", {"product": p.id, "warehouse": wh.id,
                                                     "safety_stock": 0}))
        customers = [eng.create(admin, "customer", {"name": f"Customer {i}", "region": "east"}).data["name"]
                     for i in range(200)]
        count = eng.create(walt, "stock_count", {"warehouse": wh.id, "lines": [
            {"item": s.id, "counted_qty": 10_000_000} for s in items]})
        eng.act(walt, "stock_count", count.id, "submit")
        eng.act(fiona, "stock_count", count.id, "approve")
    skus = [f"P-{i:03}" for i in range(len(items))]
    path = os.path.join(tmp, f"orders.{args.format}")
    rows = [["number", "customer", "due_date", "warehouse", "lines.product", "lines.qty"]]
    orders = args.lines // args.per_order
    for o in range(orders):
        cust = rnd.choice(customers)
        for _ in range(args.per_order):
            rows.append([f"R{o}", cust, "2099-12-31", "SH", rnd.choice(skus), rnd.randint(1, 20)])
    if args.format == "csv":
        with open(path, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(rows)
    else:
        import openpyxl

        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet("sales_order")
        for r in rows:
            ws.append(r)
        wb.save(path)
    print(f"{args.lines} lines in {orders} orders -> {path} ({os.path.getsize(path) // 1024} KiB)")
    t0 = time.perf_counter()
    last = [t0]

    def progress(done, total):
        now = time.perf_counter()
        if now - last[0] >= 5 or done == total:
            last[0] = now
            print(f"  {done}/{total} rows  {now - t0:6.1f}s", flush=True)

    result = eng.import_file(admin, "sales_order", path, dry_run=args.dry_run, progress=progress)
    dt = time.perf_counter() - t0
    print(f"{'dry run' if args.dry_run else 'import'}: {result.rows} rows, "
          f"{len(result.created)} orders created, {len(result.errors)} errors, "
          f"{dt:.1f}s, {result.rows / dt:.0f} lines/s")
    if result.errors:
        for e in result.errors[:5]:
            print("  ", e)
    eng.close()


if __name__ == "__main__":
    main()
