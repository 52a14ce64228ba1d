"""Import benchmark: `Engine.import_file` of N rows from one CSV or XLSX file, against the raw floor.

    python bench/import_bench.py [--mode plain,lines,orders] [--lines 100000] [--per-order 5]
                                 [--format csv|xlsx] [--database sqlite:///tmp/bench.db]
                                 [--dry-run] [--no-raw]

Modes (issue 17, goal 4: plain >= 10k rows/s, a form with a table >= 8k line rows/s):
  plain   customers, 5 columns (name unique, region, industry, phone, email), numbered
  lines   bills of materials, `--per-order` component lines each (a flat file: a row
          per line, the record's columns repeated, rows with the same key make one record)
  orders  sales orders with lines: a form with a workflow (its start step entered per order)

Generates master data through the engine, writes the file, then times
`Engine.import_file` (rows checked with no write lock, then written in batches;
all or none). The raw floor, in the same run: the very rows the import wrote
(records, typed rows, line rows, history events, alert traces; read back from its
database)
inserted into a fresh database of the same schema by SQLAlchemy Core
executemany in batches of the import's size, one transaction per batch.
Prints rows/s, the ratio to the goal and the ratio to the floor, and the import's
own peak RSS (on Linux the high-water mark is reset before it) beside the RSS
before it: memory is flat in the file's size when the difference stays small
as --lines grows.
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import sqlalchemy as sa  # noqa: E402

from engine.engine import Engine  # noqa: E402
from engine.io import importer  # noqa: E402
from engine.store import tables as t  # noqa: E402

DEFS = os.path.join(os.path.dirname(__file__), "..", "definitions")
GOAL = {"plain": 10_000, "lines": 8_000, "orders": 8_000}
FORM = {"plain": "customer", "lines": "bom", "orders": "sales_order"}
REGIONS = ["north", "east", "south", "west", "central"]


def master_data(eng, mode: str, rnd):
    """Users and the records the file links to; (admin, file rows)."""
    admin = eng.add_user("admin", ["admin"], is_admin=True, password="bench-admin-123")
    if mode == "plain":
        return admin, None
    walt = eng.add_user("walt", ["warehouse"], password="bench-walt-1234")
    fiona = eng.add_user("fiona", ["finance"], password="bench-fiona-123")
    with eng.batch():
        wh = eng.create(admin, "warehouse", {"code": "SH", "name": "Shanghai"})
        items = []
        for i in range(50):
            p = eng.create(admin, "product", {"sku": f"P-{i:03}", "name": f"Product {i}",
                                              "price": str(rnd.randint(10, 900))})
            if mode == "orders":
                items.append(eng.create(admin, "stock", {"product": p.id, "warehouse": wh.id,
                                                         "safety_stock": 0}))
        if mode == "lines":
            return admin, None
        customers = [eng.create(admin, "customer", {"name": f"Customer {i}", "region": "east"}).data["name"]
                     for i in range(200)]
        count = eng.create(walt, "stock_count", {"warehouse": wh.id, "lines": [
            {"item": s.id, "counted_qty": 10_000_000} for s in items]})
        eng.act(walt, "stock_count", count.id, "submit")
        eng.act(fiona, "stock_count", count.id, "approve")
    return admin, customers


def file_rows(mode: str, n: int, per: int, customers, rnd) -> list[list]:
    skus = [f"P-{i:03}" for i in range(50)]
    if mode == "plain":
        rows = [["name", "region", "industry", "phone", "email"]]
        for i in range(n):
            rows.append([f"Customer {i:06}", rnd.choice(REGIONS), f"Industry {i % 37}",
                         f"+86 21 {5000_0000 + i}", f"buyer{i}@example.com"])
        return rows
    if mode == "lines":
        rows = [["number", "product", "components.material", "components.qty_per_unit"]]
        for o in range(n // per):
            product = rnd.choice(skus)
            for _ in range(per):
                rows.append([f"B{o}", product, rnd.choice(skus), rnd.randint(1, 20)])
        return rows
    rows = [["number", "customer", "due_date", "warehouse", "lines.product", "lines.qty"]]
    for o in range(n // per):
        cust = rnd.choice(customers)
        for _ in range(per):
            rows.append([f"R{o}", cust, "2099-12-31", "SH", rnd.choice(skus), rnd.randint(1, 20)])
    return rows


def write_file(rows, fmt: str, tmp: str, form: str) -> str:
    path = os.path.join(tmp, f"{form}.{fmt}")
    if fmt == "csv":
        with open(path, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(rows)
    else:
        import openpyxl

        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet(form)
        for r in rows:
            ws.append(r)
        wb.save(path)
    return path


def _status(key: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])  # KiB
    except OSError:
        return None
    return None


def peak_reset() -> int | None:
    """Linux: reset this process's peak RSS to its current RSS (so each mode's import is
    measured alone, not the earlier modes' raw floors); the RSS now in KiB, or None."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return None
    return _status("VmRSS")


def peak_rss() -> int:
    """Peak RSS in KiB: since `peak_reset` where Linux allows it, else of the whole process."""
    return _status("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def written_rows(eng, form: str, ids: list[int]) -> list[tuple[sa.Table, list[dict]]]:
    """What the import wrote for `ids`: (table, rows) for records, typed, lines, events."""
    typed = eng._live.rt.typed[form]
    out = []
    with eng.db.engine.connect() as conn:
        def rows(table, col):
            got = []
            for s in range(0, len(ids), 500):
                got += [dict(r) for r in conn.execute(
                    sa.select(table).where(col.in_(ids[s:s + 500]))).mappings()]
            return got
        out.append((t.records, rows(t.records, t.records.c.id)))
        out.append((typed.table, rows(typed.table, typed.table.c._id)))
        for ltable, _ in typed.lines.values():
            out.append((ltable, rows(ltable, ltable.c._record_id)))
        out.append((t.events, rows(t.events, t.events.c.record_id)))
        out.append((t.alert_traces, rows(t.alert_traces, t.alert_traces.c.record_id)))
    return out


def raw_floor(url: str, written, n_records: int, batch: int) -> float:
    """Seconds to insert `written` into a fresh database: executemany per table, a
    transaction per `batch` records (as the import commits); wall and CPU."""
    eng = Engine(DEFS, url)
    engine = eng.db.engine
    by_table = [(table, sorted(rows, key=lambda r, k=_record_key(table): r[k]))
                for table, rows in written]
    t0, cpu = time.perf_counter(), time.process_time()
    starts = {table.name: 0 for table, _ in by_table}
    for start in range(0, n_records, batch):
        with engine.begin() as conn:
            for table, rows in by_table:
                # the rows of this batch's records: rows are ordered by record id
                key = _record_key(table)
                first = by_table[0][1][start]["id"]
                last = by_table[0][1][min(start + batch, n_records) - 1]["id"]
                i = starts[table.name]
                j = i
                while j < len(rows) and first <= rows[j][key] <= last:
                    j += 1
                if j > i:
                    conn.execute(table.insert(), rows[i:j])
                starts[table.name] = j
    dt, cpu = time.perf_counter() - t0, time.process_time() - cpu
    eng.close()
    return dt, cpu


def _record_key(table: sa.Table) -> str:
    for k in ("record_id", "_record_id", "_id"):  # events, alert traces; lines; typed rows
        if k in table.c and table is not t.records:
            return k
    return "id"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="plain,lines,orders",
                    help="one or more of plain, lines, orders (comma-separated)")
    ap.add_argument("--lines", type=int, default=100_000, help="data rows in the file")
    ap.add_argument("--per-order", type=int, default=5, help="lines per record (lines, orders)")
    ap.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    ap.add_argument("--database", default=None)
    ap.add_argument("--dry-run", action="store_true")
    ap.add_argument("--no-raw", action="store_true", help="skip the raw executemany floor")
    args = ap.parse_args()
    modes = [m.strip() for m in args.mode.split(",") if m.strip()]
    for mode in modes:
        if mode not in GOAL:
            ap.error(f"unknown mode {mode!r}: plain, lines or orders")
    if args.database and len(modes) > 1:
        ap.error("--database takes one --mode")
    for mode in modes:
        run(mode, args)


def run(mode: str, args) -> None:
    tmp = tempfile.mkdtemp()
    url = args.database or f"sqlite:///{tmp}/bench.db"
    eng = Engine(DEFS, url)
    rnd = random.Random(1)
    form = FORM[mode]
    admin, customers = master_data(eng, mode, rnd)
    path = write_file(file_rows(mode, args.lines, args.per_order, customers, rnd),
                      args.format, tmp, form)
    print(f"{mode}: {args.lines} rows of {form} -> {path} ({os.path.getsize(path) // 1024} KiB)")
    rss_before = peak_reset()
    t0, cpu = time.perf_counter(), time.process_time()
    times0 = os.times()
    last = [t0]
    checked_at = []  # (wall, os.times()) when the check pass ended: the write pass starts

    def checked(done, total):
        if done == total and not checked_at:
            checked_at.append((time.perf_counter(), os.times()))

    def progress(done, total):
        now = time.perf_counter()
        if now - last[0] >= 5 or done == total:
            last[0] = now
            print(f"  {done}/{total} rows  {now - t0:6.1f}s", flush=True)

    result = eng.import_file(admin, form, path, dry_run=args.dry_run, progress=progress,
                             check_progress=checked)
    dt, cpu = time.perf_counter() - t0, time.process_time() - cpu
    times1 = os.times()
    rate = result.rows / dt
    print(f"{'dry run' if args.dry_run else 'import'}: {result.rows} rows, "
          f"{len(result.created)} records created, {len(result.errors)} errors, "
          f"{dt:.1f}s (cpu {cpu:.1f}s), {rate:.0f} rows/s (goal {GOAL[mode]}: {rate / GOAL[mode]:.2f}x)")
    for e in result.errors[:5]:
        print("  ", e)
    if checked_at and result.rows:
        # where the CPU went, per row: the check pass (read, check, spool) and the write pass
        # (batches, commits); system time is mostly the write's WAL writes and fsyncs
        (tc, times_c), n = checked_at[0], result.rows
        for name, (w, a, b) in (("check", (tc - t0, times0, times_c)),
                                ("write", (t0 + dt - tc, times_c, times1))):
            print(f"  {name}: {w:.1f}s wall, per row {w / n * 1e6:.0f} µs wall, "
                  f"{(b.user - a.user) / n * 1e6:.0f} µs user, "
                  f"{(b.system - a.system) / n * 1e6:.0f} µs system")
    peak = peak_rss()
    print(f"peak RSS {peak // 1024} MB" + (
        f" during the import (RSS before it: {rss_before // 1024} MB)" if rss_before else
        " (the whole process so far)"))
    if not args.dry_run and not args.no_raw and result.created and args.database is None:
        written = written_rows(eng, form, sorted(result.created))
        bulk = getattr(eng, "can_create_many", lambda f: False)(form)  # (older trees: none)
        batch = getattr(importer, "BULK_BATCH", 0) if bulk else importer.WRITE_BATCH
        raw, raw_cpu = raw_floor(f"sqlite:///{tmp}/raw.db", written, len(result.created), batch)
        print(f"raw floor (Core executemany of the same {sum(len(r) for _, r in written)} rows): "
              f"{raw:.1f}s (cpu {raw_cpu:.1f}s), {result.rows / raw:.0f} rows/s; "
              f"import/raw {rate * raw / result.rows:.2f}x (cpu {raw_cpu / max(cpu, 1e-9):.2f}x)")
    eng.close()

if __name__ == "__main__":
    main()
