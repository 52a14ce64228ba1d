"""Store benchmark: Engine creates/updates vs raw SQLAlchemy Core doing the same
inserts, and a filtered, ordered page over N records with and without the
declared index. Prints rates and ratios measured in the same run.

    python bench/store_bench.py [--records 1000000] [--writes 2000]
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from engine.engine import Engine  # noqa: E402
from engine.store import tables as t  # noqa: E402

APP = {
    "app.yaml": "app: bench\nroles: [sales]\n",
    "customer.yaml": "form: customer\ntitle_field: name\nfields:\n  - {name: name, type: text, required: true}\n  - {name: region, type: text}\n",
    "product.yaml": "form: product\ntitle_field: name\nfields:\n  - {name: name, type: text}\n  - {name: price, type: money}\n",
    "order.yaml": """form: order
number: "SO-{seq:07}"
fields:
  - {name: customer, type: link, to: customer, required: true}
  - {name: due_date, type: date, required: true}
  - {name: channel, type: choice, options: [phone, email, online, store]}
  - name: lines
    type: table
    fields:
      - {name: product, type: link, to: product, required: true}
      - {name: qty, type: integer, min: 1}
      - {name: price, type: money}
      - {name: amount, type: money, compute: "qty * price"}
  - {name: total, type: money, compute: "sum(lines.amount)"}
indexes: [customer, due_date]
""",
}


def progress(label: str, done: int, total: int) -> None:
    print(f"\r  {label}: {done:,}/{total:,} ({100 * done // max(total, 1)}%)", end="", flush=True)
    if done >= total:
        print()


def order_data(rng, customers, products):
    return {"customer": rng.choice(customers), "due_date": (date(2026, 1, 1) + timedelta(days=rng.randrange(365))).isoformat(),
            "channel": rng.choice(["phone", "email", "online", "store"]),
            "lines": [{"product": rng.choice(products), "qty": rng.randint(1, 9),
                       "price": f"{rng.randint(100, 99999) / 100:.2f}"} for _ in range(5)]}


def bench_writes(engine, user, n, customers, products):
    rng = random.Random(1)
    start = time.perf_counter()
    ids = []
    for _ in range(n):
        ids.append(engine.create(user, "order", order_data(rng, customers, products)).id)
    create_s = time.perf_counter() - start
    start = time.perf_counter()
    for rid in ids:
        engine.update(user, "order", rid, {"channel": "store"}, version=1)
    update_s = time.perf_counter() - start
    return n / create_s, n / update_s


def bench_raw(engine, n, customers, products):
    """The same rows the engine writes (record, typed row, 5 typed lines, event, counter), via Core."""
    rng = random.Random(1)
    tf = engine.typed["order"]
    ltable = tf.lines["lines"][0]
    repo = engine.repo
    start = time.perf_counter()
    ids = []
    for _ in range(n):
        d = order_data(rng, customers, products)
        now = datetime.utcnow()
        lines = [{**ln, "amount": str(int(ln["qty"]) * float(ln["price"]))} for ln in d["lines"]]
        with engine.db.write() as conn:
            seq = repo.next_number(conn, "order_raw", "")
            rid = conn.execute(t.records.insert().values(
                form="order", number=f"R-{seq}", state=None, data={**d, "lines": lines}, version=1,
                owner="u", created_at=now, updated_at=now).returning(t.records.c.id)).scalar_one()
            conn.execute(tf.table.insert().values(_id=rid, _number=f"R-{seq}", _owner="u", _created_at=now,
                                                  _updated_at=now, customer=d["customer"],
                                                  due_date=date.fromisoformat(d["due_date"]),
                                                  channel=d["channel"], total=0))
            conn.execute(ltable.insert(), [{"_record_id": rid, "_position": i, "product": ln["product"],
                                            "qty": ln["qty"], "price": int(float(ln["price"]) * 100),
                                            "amount": 0} for i, ln in enumerate(d["lines"])])
            conn.execute(t.events.insert().values(record_id=rid, form="order", at=now, actor="u",
                                                  action="create", version=1, diff={}))
        ids.append(rid)
    create_s = time.perf_counter() - start
    start = time.perf_counter()
    for rid in ids:
        now = datetime.utcnow()
        with engine.db.write() as conn:
            row = conn.execute(sa.select(t.records).where(t.records.c.id == rid)).mappings().one()
            data = {**row["data"], "channel": "store"}
            conn.execute(t.records.update().where(t.records.c.id == rid, t.records.c.version == row["version"])
                         .values(data=data, version=row["version"] + 1, updated_at=now))
            conn.execute(tf.table.update().where(tf.table.c._id == rid).values(channel="store", _updated_at=now))
            conn.execute(t.events.insert().values(record_id=rid, form="order", at=now, actor="u",
                                                  action="update", version=row["version"] + 1, diff={}))
    update_s = time.perf_counter() - start
    return n / create_s, n / update_s


def bulk_load(engine, n, customers, products, batch=20_000):
    """N orders straight into the engine's tables (same shapes the engine writes)."""
    rng = random.Random(2)
    tf = engine.typed["order"]
    now = datetime(2026, 1, 1)
    with engine.db.read() as conn:
        first = (conn.execute(sa.select(sa.func.max(t.records.c.id))).scalar() or 0) + 1
    rid = first
    for start in range(0, n, batch):
        recs, typed = [], []
        for i in range(start, min(n, start + batch)):
            cust = rng.choice(customers)
            due = date(2026, 1, 1) + timedelta(days=rng.randrange(365))
            recs.append({"id": rid, "form": "order", "number": f"B-{i}", "state": None,
                         "data": {"customer": cust, "due_date": due.isoformat(), "lines": []},
                         "version": 1, "owner": "bench", "created_at": now, "updated_at": now})
            typed.append({"_id": rid, "_number": f"B-{i}", "_state": None, "_owner": "bench",
                          "_created_at": now, "_updated_at": now, "customer": cust, "due_date": due,
                          "channel": "phone", "total": 0})
            rid += 1
        with engine.db.write() as conn:
            conn.execute(t.records.insert(), recs)
            conn.execute(tf.table.insert(), typed)
        progress("loading orders", min(n, start + batch), n)


def time_page(engine, user, customer, repeat=20):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        page = engine.list(user, "order", filter=f"customer == {customer}", order="due_date", limit=50)
        best = min(best, time.perf_counter() - start)
    return best, page.total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--writes", type=int, default=2000)
    ap.add_argument("--url", default=None)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="loom-bench-"))
    defs = tmp / "defs"
    defs.mkdir()
    for name, text in APP.items():
        (defs / name).write_text(text)
    url = args.url or f"sqlite:///{tmp / 'bench.db'}"
    engine = Engine(str(defs), url)
    user = engine.add_user("u", ["sales"])
    customers = [engine.create(user, "customer", {"name": f"C{i}", "region": "north"}).id for i in range(1000)]
    products = [engine.create(user, "product", {"name": f"P{i}", "price": "9.99"}).id for i in range(200)]

    print(f"writes: {args.writes:,} orders with 5 line items, {engine.db.dialect}")
    eng_c, eng_u = bench_writes(engine, user, args.writes, customers, products)
    raw_c, raw_u = bench_raw(engine, args.writes, customers, products)
    print(f"  creates/s  engine {eng_c:8.0f}   raw core {raw_c:8.0f}   ratio {eng_c / raw_c:.2f}  (target >= 0.35)")
    print(f"  updates/s  engine {eng_u:8.0f}   raw core {raw_u:8.0f}   ratio {eng_u / raw_u:.2f}")

    print(f"list: page of 50 filtered on an indexed field, ordered, from {args.records:,} records")
    bulk_load(engine, args.records, customers, products)
    with engine.db.write() as conn:
        conn.exec_driver_sql("ANALYZE")
    indexed, total = time_page(engine, user, customers[7])
    print(f"  with index     {indexed * 1000:8.2f} ms  (total {total:,} matches; target < 20 ms)")
    tf = engine.typed["order"]
    idx = next(i for i in tf.table.indexes if list(i.columns)[0].name == "customer")
    with engine.db.write() as conn:
        idx.drop(conn)
    unindexed, _ = time_page(engine, user, customers[7], repeat=3)
    print(f"  without index  {unindexed * 1000:8.2f} ms  ({unindexed / indexed:.0f}x slower)")
    engine.close()


if __name__ == "__main__":
    main()
