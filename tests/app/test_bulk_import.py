"""The bulk write path of `import_file` (records/bulk.py) writes exactly what the one-record
path writes: the same records, typed rows, line rows, history, numbers and alert traces."""
from __future__ import annotations

import gc
import io
import json
import tracemalloc
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.errors import ValidationFailed
from engine.io import importer
from engine.store import tables as t
from tests.conftest import make_engine

APP = Path(__file__).resolve().parents[2] / "definitions"

CUSTOMERS = "name,region,industry,phone,email,credit_limit\n" + "".join(
    f"Customer {i},{['east', 'north', 'south'][i % 3]},Retail {i % 4},+86 21 5000 {1000 + i},"
    f"buyer{i}@example.com,{(i % 5) * 1000}\n" for i in range(23))
# a flat file: a row per component line; the rows of one BOM are apart (its first lines
# come before the other BOMs' first lines), so the import waits for a record's last row
BOMS = "number,product,components.material,components.qty_per_unit\n" + "".join(
    f"B{o},P-{o % 3},P-{(o + k) % 4},{k + 1}\n" for k in range(3) for o in range(9)
    if k < 1 + o % 3)


def _setup(eng):
    root = eng.add_user("root", ["admin"], is_admin=True, password="root-pass-123")
    for i in range(4):
        eng.create(root, "product", {"sku": f"P-{i}", "name": f"Part {i}", "price": "10",
                                     "cost": str(2 + i)})
    return root


def _import(eng, root, form, text, bulk: bool):
    if not bulk:  # the one-record path: Engine.create_checked per record
        eng.can_create_many = lambda form_id: False
    result = eng.import_file(root, form, io.BytesIO(text.encode()), format="csv")
    assert result.ok, result.errors
    return result


def _dump(eng) -> dict:
    """Every row the imports wrote, line ids (random per write) replaced by their place."""
    typed = eng._live.rt.typed
    tables = [t.records, t.events, t.counters, t.alert_traces, t.alert_state,
              *typed["customer"].all_tables(), *typed["bom"].all_tables()]
    with eng.db.engine.connect() as conn:
        out = {tb.name: [dict(r) for r in conn.execute(sa.select(tb)).mappings()] for tb in tables}
    places = {}
    for tb in typed["bom"].all_tables()[1:]:
        for row in out[tb.name]:
            places[row["line_id"]] = f"line {row['_record_id']}.{row['_position']}"
    text = json.dumps(out, default=str, sort_keys=True)
    for line_id, place in places.items():
        text = text.replace(line_id, place)
    out = json.loads(text)
    for name in ("events", "alert_traces"):  # ids differ with the order of the inserts
        out[name] = sorted(({k: v for k, v in r.items() if k != "id"} for r in out[name]),
                           key=lambda r: json.dumps(r, sort_keys=True))
    return out


def test_bulk_import_writes_what_the_one_record_path_writes(database_url, fresh_url, clock):
    dumps = []
    for url, bulk in ((database_url, True), (fresh_url, False)):
        eng = make_engine(APP, url, clock)
        try:
            root = _setup(eng)
            customers = _import(eng, root, "customer", CUSTOMERS, bulk)
            boms = _import(eng, root, "bom", BOMS, bulk)
            assert (len(customers.created), len(boms.created)) == (23, 9)
            dumps.append(_dump(eng))
        finally:
            eng.close()
    bulk, single = dumps
    assert [r["number"] for r in bulk["records"] if r["form"] == "customer"] == \
        [f"C-{i:05}" for i in range(1, 24)]
    assert len(bulk["t_bom__components"]) == sum(1 + o % 3 for o in range(9))
    # each BOM's lines are its rows, in file order, though its rows are apart
    boms = sorted((r for r in bulk["records"] if r["form"] == "bom"), key=lambda r: r["id"])
    assert [[Decimal(c["qty_per_unit"]) for c in r["data"]["components"]] for r in boms] == \
        [list(range(1, 2 + o % 3)) for o in range(9)]
    for name in bulk:
        assert bulk[name] == single[name], name


def test_bulk_import_refuses_a_value_taken_meanwhile_naming_its_row(erp):
    """A unique value stored after the check (another writer): the batch falls back to one
    by one, which names the row; nothing of the import stays."""
    root = erp.user("root")
    real = erp.check_new_many

    def check_then_someone_takes_it(user, form, batch):
        out = real(user, form, batch)
        erp.create(root, "customer", {"name": "Customer 7", "region": "east"})
        return out

    erp.check_new_many = check_then_someone_takes_it
    result = erp.import_file(root, "customer", io.BytesIO(CUSTOMERS.encode()), format="csv")
    assert not result.ok and result.created == []
    assert [(e.row, e.column) for e in result.errors] == [(9, "name")]
    assert erp.list(root, "customer").total == 1



def test_a_bulk_batch_refusing_a_taken_value_names_it_and_keeps_nothing(erp):
    """`create_many_checked` with a value stored since the check (the fourth of the batch,
    after rows the executemany wrote) and with a value the batch holds twice (checked apart):
    ValidationFailed names the value (as the check under the lock did before the insert),
    no record of the batch is kept, and a later batch gets the numbers refused ones had."""
    root = erp.user("root")

    def check(*names):
        checked = erp.check_new_many(root, "customer",
                                     [{"name": n, "region": "east"} for n in names])
        assert not [c for c in checked if isinstance(c, Exception)]
        return checked

    taken = check("A", "B", "C", "Taken", "D")
    erp.create(root, "customer", {"name": "Taken", "region": "east"})  # another writer
    twice = check("A", "B") + check("B")
    for batch, message in ((taken, "Taken is already used by another record"),
                           (twice, "B is already used by another record")):
        with pytest.raises(ValidationFailed) as refused:
            erp.create_many_checked(root, "customer", batch)
        assert refused.value.fields == {"name": message}
        assert [r.data["name"] for r in erp.list(root, "customer").items] == ["Taken"]
    made = erp.create_many_checked(root, "customer", check("A", "B", "C"))
    assert [(r.data["name"], r.number) for r in made] == \
        [("A", "C-00002"), ("B", "C-00003"), ("C", "C-00004")]
    assert erp.list(root, "customer").total == 4

@pytest.fixture
def erp(database_url, clock):
    eng = make_engine(APP, database_url, clock)
    eng.add_user("root", ["admin"], is_admin=True, password="root-pass-123")
    yield eng
    eng.close()


def test_loom_import_draws_a_progress_bar_with_rate_and_eta(capsys):
    from engine.cli import ProgressBar

    ticks = iter([1.0, 1.05, 2.0])
    bar = ProgressBar("written")
    bar.clock = lambda: next(ticks)
    bar.start = bar.shown = 0.0
    bar(500, 2000)   # at 1.0 s
    bar(600, 2000)   # 50 ms later: not redrawn
    bar(2000, 2000)  # the end is always drawn
    err = capsys.readouterr().err
    first, last = err.split("\r")[1:]
    assert first.startswith("[#######.......................]  25%  500/2,000 rows written  "
                            "500 rows/s  ETA 3s")
    assert last.startswith("[##############################] 100%  2,000/2,000 rows written  "
                           "1,000 rows/s") and "ETA" not in last and last.endswith("\n")


PRODUCTS = "sku,name,price,stock_qty,safety_stock\n" + "".join(
    f"P-{i},Part {i},{i + 1},{(i * 7) % 20},10\n" for i in range(17))


@pytest.mark.outbox_ok  # the alert's mail is what is compared, not sent
def test_alerts_that_fire_on_bulk_created_records_do_what_they_do_one_by_one(
        database_url, fresh_url, clock):
    """The fixture app's low_stock alert (once: notify purchasing, raise a requisition)
    fires for products imported below their safety stock and not for the others; the
    records it raises take other ids on the two paths, so rows are compared by what the
    records are (form and number or sku), not by id."""
    from tests.conftest import VALID

    tables = [t.records, t.events, t.counters, t.alert_traces, t.alert_state, t.notifications,
              t.outbox]
    dumps = []
    for url, bulk in ((database_url, True), (fresh_url, False)):
        eng = make_engine(VALID, url, clock)
        try:
            root = eng.add_user("root", ["admin"], is_admin=True, password="root-pass-123")
            eng.add_user("pat", ["purchasing"], email="pat@example.com", password="pat-pass-123")
            _import(eng, root, "product", PRODUCTS, bulk)
            with eng.db.engine.connect() as conn:
                rows = {tb.name: [dict(r) for r in conn.execute(sa.select(tb)).mappings()]
                        for tb in tables}
            dumps.append(_by_identity(rows))
        finally:
            eng.close()
    bulk, single = dumps
    low = sum(1 for i in range(17) if (i * 7) % 20 < 10)
    assert sum('"outcome": "fired"' in r for r in bulk["alert_traces"]) == low
    assert sum('"outcome": "condition_false"' in r for r in bulk["alert_traces"]) == 17 - low
    assert sum('"form": "purchase_requisition"' in r for r in bulk["records"]) == low
    assert len(bulk["outbox"]) == low
    for name in bulk:
        assert bulk[name] == single[name], name


def _by_identity(rows: dict) -> dict:
    """Rows with record ids replaced by `form:number` (or `form:sku`), other ids dropped."""
    labels = {r["id"]: f"{r['form']}:{r['number'] or r['data'].get('sku')}" for r in rows["records"]}

    def norm(value, key=None, top=False):
        if isinstance(value, dict):
            return {k: norm(v, k) for k, v in value.items() if not (top and k == "id")} | (
                {"id": labels[value["id"]]} if top and "id" in value and "form" in value
                and "number" in value else {})
        if isinstance(value, list):
            return [norm(v, key) for v in value]
        if key in ("record_id", "product", "id") and isinstance(value, int) \
                and not isinstance(value, bool):
            return labels.get(value, value)
        if key == "queued":  # outbox ids
            return "outbox"
        return value

    return {name: sorted(json.dumps(norm(r, top=True), default=str, sort_keys=True) for r in rs)
            for name, rs in rows.items()}


def test_an_import_reports_its_check_then_its_write_and_puts_the_collector_back(erp):
    """`check_progress` counts rows checked (nothing written yet), `progress` rows
    written (each batch committed by then); the garbage collector runs less often while
    the import runs, and as before afterwards."""
    root = erp.user("root")
    rows = 1200  # three check batches, three write batches
    text = "name,region\n" + "".join(f"Shop {i},north\n" for i in range(rows))
    before = gc.get_threshold()
    checks, writes = [], []

    def checked(done, total):
        checks.append((done, total, erp.list(root, "customer").total, gc.get_threshold()[0]))

    def written(done, total):
        writes.append((done, total, erp.list(root, "customer").total))

    result = erp.import_file(root, "customer", io.BytesIO(text.encode()), format="csv",
                             progress=written, check_progress=checked)
    assert result.ok and len(result.created) == rows
    assert [c[:3] for c in checks] == [(500, rows, 0), (1000, rows, 0), (rows, rows, 0)]
    assert all(c[3] >= importer.GC_THRESHOLD for c in checks)
    assert [w[:2] for w in writes] == [(500, rows), (1000, rows), (rows, rows)]
    assert all(stored >= done for done, _, stored in writes)
    assert gc.get_threshold() == before


def test_a_failing_import_reports_its_check_and_no_write(erp):
    root = erp.user("root")
    text = "name,region\n" + "".join(f"Shop {i},north\n" for i in range(600)) + "Bad,nowhere\n"
    checks, writes = [], []
    result = erp.import_file(root, "customer", io.BytesIO(text.encode()), format="csv",
                             progress=lambda d, t: writes.append(d),
                             check_progress=lambda d, t: checks.append(d))
    assert [(e.row, e.column) for e in result.errors] == [(602, "region")]
    assert checks == [500, 601] and writes == []


class _Pipe(io.RawIOBase):
    """A stream that cannot seek (an upload read from a socket)."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, b):
        return self._data.readinto(b)


def test_a_stream_that_cannot_seek_is_read_twice_through_a_copy(erp):
    root = erp.user("root")
    text = "name,region\n" + "".join(f"商店 {i},east\n" for i in range(30))
    result = erp.import_file(root, "customer", _Pipe(text.encode("gb18030")), format="csv")
    assert result.ok and len(result.created) == 30
    assert erp.get(root, "customer", result.created[-1]).data["name"] == "商店 29"


def _peak(erp, root, rows: int, prefix: str) -> int:
    text = "name,region,industry,phone,email\n" + "".join(
        f"{prefix} {i:06},east,Industry {i % 7},+86 21 5000 {i},buyer{i}@example.com\n"
        for i in range(rows))
    data = io.BytesIO(text.encode())
    tracemalloc.start()
    try:
        result = erp.import_file(root, "customer", data, format="csv")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.ok and len(result.created) == rows
    return peak - len(data.getvalue())  # the caller's own bytes are not the import's


def test_memory_of_an_import_stays_flat_in_the_file_size(erp):
    """Rows are read, checked and let go a batch at a time (the checked values wait on disk):
    four times the rows take about the same memory, not four times as much."""
    root = erp.user("root")
    small = _peak(erp, root, 1500, "Small")
    big = _peak(erp, root, 6000, "Big")
    assert big < small * 1.6, (small, big)


def test_an_xlsx_sheet_is_parsed_once_and_read_twice_from_its_copy(erp, monkeypatch):
    """openpyxl is the slow part of an XLSX import: the count pass parses the sheet and keeps
    its rows in a temporary copy, the record pass reads the copy (the same rows)."""
    import openpyxl

    from engine.io import readers

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "customer"
    ws.append(["name", "region"])
    for i in range(2500):  # more than one pickled chunk of the copy
        ws.append([f"Sheet shop {i}", "west"])
    buf = io.BytesIO()
    wb.save(buf)
    opened = []
    real = openpyxl.load_workbook
    monkeypatch.setattr(readers.openpyxl, "load_workbook",
                        lambda *a, **k: opened.append(1) or real(*a, **k))
    buf.seek(0)
    book = readers.open_sheets(buf, "xlsx")
    try:
        half = book.rows("customer")
        assert [next(half) for _ in range(3)][1] == ["Sheet shop 0", "west"]
        half.close()  # a read given up half-way keeps no copy
        first, second = list(book.rows("customer")), list(book.rows("customer"))
    finally:
        book.close()
    assert len(first) == 2501 and first == second
    assert len(opened) == 3  # the names, the read given up, the one full read
    opened.clear()
    buf.seek(0)
    result = erp.import_file(erp.user("root"), "customer", buf, format="xlsx")
    assert result.ok and len(result.created) == 2500 and len(opened) == 2


def test_loom_imports_written_bar_counts_its_rate_from_the_end_of_the_check(capsys):
    from engine.cli import ProgressBar

    checking = ProgressBar("checked")
    checking.clock = lambda: 10.0
    checking.start = checking.shown = 0.0
    checking(2000, 2000)  # the check ends at 10 s
    writing = ProgressBar("written", after=checking)
    writing.clock = lambda: 12.0
    writing(1000, 2000)  # 1,000 rows in the 2 s since
    err = capsys.readouterr().err
    checked, written = err.split("\r")[1:]
    assert checked.startswith("[##############################] 100%  2,000/2,000 rows checked  "
                              "200 rows/s")
    assert written.startswith("[###############...............]  50%  1,000/2,000 rows written  "
                              "500 rows/s  ETA 2s")
