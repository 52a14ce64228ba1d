"""Report benchmark: a grouped report over line items joined to two linked forms.

    python bench/report_bench.py                 # 1,000,000 orders, 4,000,000 line items
    python bench/report_bench.py --orders 100000 # a quick run
    python bench/report_bench.py --database postgresql+psycopg://postgres@127.0.0.1:5432/bench

Generates orders straight into the engine's tables (records + typed tables,
the rows the engine itself writes, in executemany batches), then in one
process times the same question three ways:

  (a) through the engine: Engine.report(...)
  (b) the best hand-written SQL over the engine's own typed tables
  (c) hand-written SQL over plain tables a DBA would design (one column per field)

and prints times and ratios (targets: a <= 1.3 b, a <= 2.5 c). Last, a child
process exports the full line-item list to CSV through the engine and reports
its peak memory (target < 300 MB).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

DEFINITIONS = {
    "app.yaml": "app: bench\ntitle: Bench\nroles: [sales, sales_manager]\n",
    "forms/region.yaml": """form: region
title: Region
title_field: name
fields:
  - {name: name, type: text, required: true}
""",
    "forms/customer.yaml": """form: customer
title: Customer
title_field: name
fields:
  - {name: name, type: text, required: true}
  - {name: region, type: link, to: region}
""",
    "forms/product.yaml": """form: product
title: Product
title_field: name
fields:
  - {name: name, type: text, required: true}
  - {name: category, type: choice, options: [c0, c1, c2, c3, c4, c5, c6, c7]}
  - {name: price, type: money}
""",
    "forms/sales_order.yaml": """form: sales_order
title: Sales order
number: "SO-{seq:07}"
title_field: number
fields:
  - {name: customer, type: link, to: customer, required: true}
  - {name: order_date, type: date}
  - name: lines
    type: table
    fields:
      - {name: product, type: link, to: product, required: true}
      - {name: qty, type: integer}
      - {name: price, type: money}
      - {name: amount, type: money, compute: "qty * price"}
  - {name: total, type: money, compute: "sum(lines.amount)"}
indexes: [customer, order_date]
permissions:
  read: [sales, sales_manager]
  rows: "owner == user.name or has_role('sales_manager')"
""",
    "reports/sales_by_region_category.yaml": """report: sales_by_region_category
title: Sales by region and product category
source: sales_order.lines
group_by:
  - {name: region, expr: customer.region.name}
  - {name: category, expr: product.category}
measures:
  - {name: units, agg: sum, expr: qty}
  - {name: revenue, agg: sum, expr: amount}
  - {name: lines, agg: count}
order_by: [region, category]
""",
}

HAND_ENGINE = """
SELECT r.name AS region, p.category, sum(l.qty), sum(l.amount), count(*)
FROM t_sales_order__lines l
JOIN t_sales_order o ON o._id = l._record_id
LEFT JOIN t_customer c ON c._id = o.customer
LEFT JOIN t_region r ON r._id = c.region
LEFT JOIN t_product p ON p._id = l.product
GROUP BY r.name, p.category ORDER BY 1 NULLS FIRST, 2 NULLS FIRST
"""

HAND_PLAIN = """
SELECT r.name AS region, p.category, sum(l.qty), sum(l.amount), count(*)
FROM order_line l
JOIN orders o ON o.id = l.order_id
LEFT JOIN customer c ON c.id = o.customer_id
LEFT JOIN region r ON r.id = c.region_id
LEFT JOIN product p ON p.id = l.product_id
GROUP BY r.name, p.category ORDER BY 1 NULLS FIRST, 2 NULLS FIRST
"""

PLAIN_DDL = [
    "CREATE TABLE region (id BIGINT PRIMARY KEY, name TEXT NOT NULL)",
    "CREATE TABLE customer (id BIGINT PRIMARY KEY, name TEXT NOT NULL, region_id BIGINT "
    "REFERENCES region(id))",
    "CREATE TABLE product (id BIGINT PRIMARY KEY, name TEXT NOT NULL, category TEXT, "
    "price NUMERIC(12, 2))",
    "CREATE TABLE orders (id BIGINT PRIMARY KEY, number TEXT, customer_id BIGINT REFERENCES "
    "customer(id), order_date DATE, total NUMERIC(14, 2))",
    "CREATE TABLE order_line (order_id BIGINT REFERENCES orders(id), position INTEGER, "
    "product_id BIGINT REFERENCES product(id), qty INTEGER, price NUMERIC(12, 2), "
    "amount NUMERIC(14, 2), PRIMARY KEY (order_id, position))",
    "CREATE INDEX ix_orders_customer ON orders (customer_id)",
]

PLAIN_FILL = [
    "INSERT INTO region SELECT _id, name FROM t_region",
    "INSERT INTO customer SELECT _id, name, region FROM t_customer",
    "INSERT INTO product SELECT _id, name, category, price / 100.0 FROM t_product",
    "INSERT INTO orders SELECT _id, _number, customer, order_date, total / 100.0 FROM t_sales_order",
    "INSERT INTO order_line SELECT _record_id, _position, product, qty, price / 100.0, "
    "amount / 100.0 FROM t_sales_order__lines",
]


def write_definitions(root: Path) -> None:
    for name, text in DEFINITIONS.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def progress(label: str, done: int, total: int, started: float) -> None:
    rate = done / max(time.perf_counter() - started, 1e-9)
    print(f"\r  {label}: {done:,}/{total:,} ({rate:,.0f}/s)", end="", file=sys.stderr,
          flush=True)
    if done >= total:
        print(file=sys.stderr)


def generate(engine, n_orders: int, lines_per_order: int, batch: int = 5000) -> None:
    """Insert records + typed rows exactly as the engine writes them, in batches."""
    from engine.store import tables as t

    rng = random.Random(42)
    typed = engine.typed
    now = datetime(2026, 3, 2, 9, 0, 0)
    next_id = [1]

    def ids(n):
        start = next_id[0]
        next_id[0] += n
        return range(start, start + n)

    def record(rid, form, number, data, owner="alice"):
        return {"id": rid, "form": form, "number": number, "state": None, "data": data,
                "version": 1, "owner": owner, "created_at": now, "updated_at": now,
                "definition_version": None}

    def system(rid, number, owner="alice"):
        return {"_id": rid, "_number": number, "_state": None, "_owner": owner,
                "_created_at": now, "_updated_at": now}

    with engine.db.write() as conn:
        regions = list(ids(10))
        conn.execute(t.records.insert(), [record(i, "region", None, {"name": f"Region {i}"})
                                          for i in regions])
        conn.execute(typed["region"].table.insert(),
                     [{**system(i, None), "name": f"Region {i}"} for i in regions])
        customers = list(ids(10_000))
        crow = [(i, f"Customer {i}", rng.choice(regions + [None])) for i in customers]
        conn.execute(t.records.insert(), [record(i, "customer", None, {"name": n, "region": r})
                                          for i, n, r in crow])
        conn.execute(typed["customer"].table.insert(),
                     [{**system(i, None), "name": n, "region": r} for i, n, r in crow])
        products = list(ids(1_000))
        prow = [(i, f"Product {i}", f"c{i % 8}" if i % 37 else None, rng.randint(5, 50_000))
                for i in products]
        conn.execute(t.records.insert(), [record(i, "product", None, {
            "name": n, "category": c, "price": f"{p / 100:.2f}"}) for i, n, c, p in prow])
        conn.execute(typed["product"].table.insert(), [
            {**system(i, None), "name": n, "category": c, "price": p} for i, n, c, p in prow])
    prices = {i: p for i, _, _, p in prow}
    order_t, line_t = typed["sales_order"].table, typed["sales_order"].lines["lines"][0]
    started = time.perf_counter()
    day0 = date(2024, 1, 1)
    done = 0
    while done < n_orders:
        n = min(batch, n_orders - done)
        recs, orders, lines = [], [], []
        for rid in ids(n):
            done += 1
            number = f"SO-{done:07d}"
            cust = rng.choice(customers)
            d = day0 + timedelta(days=rng.randrange(800))
            jl, total = [], 0
            for pos in range(lines_per_order):
                prod = rng.choice(products)
                qty = rng.randint(1, 20)
                price = prices[prod]
                amount = qty * price
                total += amount
                lines.append({"_record_id": rid, "_position": pos, "product": prod, "qty": qty,
                              "price": price, "amount": amount})
                jl.append({"product": prod, "qty": qty, "price": f"{price / 100:.2f}",
                           "amount": f"{amount / 100:.2f}"})
            owner = "alice" if rid % 2 else "bob"
            recs.append(record(rid, "sales_order", number, {
                "customer": cust, "order_date": d.isoformat(), "lines": jl,
                "total": f"{total / 100:.2f}"}, owner))
            orders.append({**system(rid, number, owner), "customer": cust, "order_date": d,
                           "total": total})
        with engine.db.write() as conn:
            conn.execute(t.records.insert(), recs)
            conn.execute(order_t.insert(), orders)
            conn.execute(line_t.insert(), lines)
        progress("orders", done, n_orders, started)
    with engine.db.write() as conn:
        if engine.db.dialect == "postgresql":
            conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('records', 'id'), "
                                 "(SELECT max(id) FROM records))"))
        conn.execute(t.counters.insert().values(form="sales_order", key="", value=n_orders))


def build_plain(engine) -> None:
    with engine.db.write() as conn:
        for stmt in ["DROP TABLE IF EXISTS order_line", "DROP TABLE IF EXISTS orders",
                     "DROP TABLE IF EXISTS product", "DROP TABLE IF EXISTS customer",
                     "DROP TABLE IF EXISTS region"] + PLAIN_DDL + PLAIN_FILL:
            conn.execute(sa.text(stmt))
    with engine.db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(sa.text("ANALYZE"))


def best_of(fn, runs: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def run_sql(engine, text: str):
    with engine.db.read() as conn:
        return conn.execute(sa.text(text)).all()


def export_child(defs: str, url: str, out: str) -> None:
    """In a fresh process: export every line item to CSV through the engine; print peak RSS."""
    from engine.auth.users import SYSTEM
    from engine.engine import Engine

    engine = Engine(defs, url)
    t0 = time.perf_counter()
    with open(out, "wb") as f:
        n = engine.export_form(SYSTEM, "sales_order.lines", "csv", f)
    took = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": n, "seconds": took, "peak_mb": peak_kb / 1024,
                      "bytes": os.path.getsize(out)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--lines-per-order", type=int, default=4)
    ap.add_argument("--database", default=None, help="default: SQLite in a temporary directory")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--export-child", nargs=3, metavar=("DEFS", "URL", "OUT"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.export_child:
        export_child(*args.export_child)
        return

    from engine.auth.users import SYSTEM
    from engine.engine import Engine

    work = Path(tempfile.mkdtemp(prefix="loom-bench-"))
    defs = work / "definitions"
    write_definitions(defs)
    url = args.database or f"sqlite:///{work / 'bench.db'}"
    engine = Engine(str(defs), url)
    print(f"database: {engine.db.dialect}; {args.orders:,} orders, "
          f"{args.orders * args.lines_per_order:,} line items", flush=True)
    t0 = time.perf_counter()
    generate(engine, args.orders, args.lines_per_order)
    print(f"generated in {time.perf_counter() - t0:.1f}s", flush=True)
    t0 = time.perf_counter()
    build_plain(engine)
    print(f"plain tables built in {time.perf_counter() - t0:.1f}s", flush=True)

    report = "sales_by_region_category"
    engine.report(SYSTEM, report)  # warm the cache for all three equally
    run_sql(engine, HAND_ENGINE)
    run_sql(engine, HAND_PLAIN)
    ta, ra = best_of(lambda: engine.report(SYSTEM, report), args.runs)
    tb, rb = best_of(lambda: run_sql(engine, HAND_ENGINE), args.runs)
    tc, rc = best_of(lambda: run_sql(engine, HAND_PLAIN), args.runs)
    assert [tuple(r[:3]) + (r[4],) for r in ra.rows] == \
        [(x[0], x[1], int(x[2]), x[4]) for x in rb], "engine and hand SQL disagree"
    assert len(ra.rows) == len(rc)
    print(f"(a) engine report        {ta * 1000:9.1f} ms  ({len(ra.rows)} rows)")
    print(f"(b) hand SQL, engine tbl {tb * 1000:9.1f} ms   a/b = {ta / tb:.2f}  (target <= 1.3)")
    print(f"(c) hand SQL, plain tbl  {tc * 1000:9.1f} ms   a/c = {ta / tc:.2f}  (target <= 2.5)")
    print("engine SQL:\n" + engine.report_sql(SYSTEM, report))

    out = work / "lines.csv"
    child = subprocess.run([sys.executable, __file__, "--export-child", str(defs), url, str(out)],
                           check=True, capture_output=True, text=True)
    stats = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"export of all line items to CSV: {stats['rows']:,} rows, "
          f"{stats['bytes'] / 1e6:,.0f} MB in {stats['seconds']:.1f}s; "
          f"peak RSS of the exporting process {stats['peak_mb']:.0f} MB (target < 300)")
    engine.close()
    if not args.database:
        print(f"(data left in {work}; delete it when done)")


if __name__ == "__main__":
    main()
