"""Batch import into the bundled app: dry run lists every bad row, all or nothing."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from engine.io import readers
from tests.conftest import make_engine

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "definitions"


@pytest.fixture
def erp(database_url, clock):
    eng = make_engine(APP, database_url, clock)
    eng.add_user("root", ["admin"], is_admin=True, password="root-pass-123")
    eng.add_user("walt", ["warehouse"], password="walt-pass-123")
    eng.add_user("fiona", ["finance"], password="fiona-pass-123")
    yield eng
    eng.close()


@pytest.fixture
def stocked(erp):
    root, walt = erp.user("root"), erp.user("walt")
    wh = erp.create(root, "warehouse", {"code": "SH", "name": "Shanghai"})
    p = erp.create(root, "product", {"sku": "CH-1", "name": "Chair", "price": "100",
                                     "min_price": "80"})
    item = erp.create(root, "stock", {"product": p.id, "warehouse": wh.id, "safety_stock": 0})
    count = erp.create(walt, "stock_count", {"warehouse": wh.id,
                                             "lines": [{"item": item.id, "counted_qty": 50}]})
    erp.act(walt, "stock_count", count.id, "submit")
    erp.act(erp.user("fiona"), "stock_count", count.id, "approve")
    erp.create(root, "customer", {"name": "Acme", "region": "east", "credit_limit": "9000"})
    return erp


def csv_bytes(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode("utf-8"))


def test_customers_by_label_in_chinese__dry_run_changes_nothing(erp):
    root = erp.user("root")
    data = "名称,区域,信用额度\nAcme,华东,5000\nBeta,south,100\n"
    result = erp.import_file(root, "customer", csv_bytes(data), format="csv", dry_run=True)
    assert result.ok and result.rows == 2 and result.created == []
    assert erp.list(root, "customer").total == 0
    result = erp.import_file(root, "customer", csv_bytes(data), format="csv")
    assert result.ok and len(result.created) == 2
    acme = erp.get(root, "customer", result.created[0])
    assert (acme.data["region"], acme.data["credit_limit"]) == ("east", Decimal("5000.00"))


def test_every_bad_row_is_reported_and_nothing_is_imported(erp):
    root = erp.user("root")
    data = "name,region\nGood,east\n,east\nBad region,nowhere\nGood,east\n"
    result = erp.import_file(root, "customer", csv_bytes(data), format="csv")
    assert [(e.row, e.column, e.message) for e in result.errors] == [
        (3, "name", "is required"),
        (4, "region", "'nowhere' is not one of: north, east, south, west, central"),
        (5, "name", "Good is already used by another record"),
    ]
    assert result.created == [] and erp.list(root, "customer").total == 0


def test_unknown_column_is_named(erp):
    result = erp.import_file(erp.user("root"), "customer", csv_bytes("name,colour\nA,red\n"),
                         format="csv")
    assert len(result.errors) == 1 and "unknown column 'colour'" in result.errors[0].message


def test_orders_with_lines_from_one_workbook(stocked):
    erp, root = stocked, stocked.user("root")
    wb = openpyxl.load_workbook(io.BytesIO(erp.template("sales_order", "xlsx")))
    assert wb.sheetnames == ["sales_order", "sales_order.lines"]
    wb["sales_order"].append(["A", "Acme", None, "2026-03-20", None, None, "SH"])
    wb["sales_order"].append(["B", "Acme", None, "2026-03-25", None, None, "SH"])
    wb["sales_order.lines"].append(["A", "CH-1", 3, None])
    wb["sales_order.lines"].append(["A", "CH-1", 2, 90])
    wb["sales_order.lines"].append(["B", "CH-1", 0, None])       # not a quantity
    wb["sales_order.lines"].append(["C", "CH-1", 1, None])       # no such order
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    result = erp.import_file(root, "sales_order", buf, format="xlsx")
    assert [(e.sheet, e.row, e.column) for e in result.errors] == [
        ("sales_order.lines", 4, "qty"), ("sales_order.lines", 5, "sales_order")]
    assert erp.list(root, "sales_order").total == 0
    ws = wb["sales_order.lines"]
    ws.cell(4, 3).value = 6
    ws.delete_rows(5, 1)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    progress = []
    result = erp.import_file(root, "sales_order", buf, format="xlsx",
                         progress=lambda d, t: progress.append((d, t)))
    assert result.ok and len(result.created) == 2
    assert progress[-1] == (5, 5)
    a = erp.get(root, "sales_order", result.created[0])
    assert a.data["total"] == Decimal("480.00") and a.state == "draft"


def test_flat_csv_groups_lines_by_the_key_column(stocked):
    erp, root = stocked, stocked.user("root")
    data = ("number,customer,due_date,warehouse,lines.product,lines.qty\n"
            "X,Acme,2026-04-01,SH,CH-1,1\nX,Acme,2026-04-01,SH,CH-1,2\nY,Acme,2026-04-01,SH,CH-1,7\n")
    result = erp.import_file(root, "sales_order", csv_bytes(data), format="csv")
    assert result.ok, result.errors
    totals = sorted(erp.get(root, "sales_order", i).data["total"] for i in result.created)
    assert totals == [Decimal("300.00"), Decimal("700.00")]


def test_lines_of_existing_orders(stocked):
    erp, root = stocked, stocked.user("root")
    order = erp.create(root, "sales_order", {"customer": erp.list(root, "customer").items[0].id,
                                              "due_date": "2026-04-01",
                                              "warehouse": erp.list(root, "warehouse").items[0].id,
                                              "lines": [{"product": erp.list(root, "product").items[0].id,
                                                         "qty": 1}]})
    data = f"sales_order,product,qty\n{order.number},CH-1,4\nSO-NOPE,CH-1,1\n"
    result = erp.import_file(root, "sales_order.lines", csv_bytes(data), format="csv")
    assert [(e.row, e.message) for e in result.errors] == [(3, "no sales_order 'SO-NOPE'")]
    result = erp.import_file(root, "sales_order.lines",
                         csv_bytes(f"sales_order,product,qty\n{order.number},CH-1,4\n"), format="csv")
    assert result.ok and result.updated == [order.id]
    assert erp.get(root, "sales_order", order.id).data["total"] == Decimal("500.00")


def test_csv_template_is_the_header_row(erp):
    assert erp.template("customer", "csv").decode("utf-8-sig").splitlines()[0].startswith(
        "name,region,industry")


def test_loom_check_definitions_is_clean():
    out = subprocess.run([sys.executable, "-m", "engine.cli", "check", str(APP)], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout == ""


# --- a file that changes while it is imported ------------------------------------------------


def customers_file(path: Path, n: int, name: str = "Customer") -> None:
    path.write_text("name,region\n" + "".join(f"{name} {i:04},east\n" for i in range(n)),
                    encoding="utf-8")


def customer_count(eng) -> int:
    return eng.list(eng.user("root"), "customer").total


def import_changing(erp, path: Path, change) -> str:
    """Import `path` while `change(path)` runs once the first 500 rows are checked (the
    file's second read is under way): FileChanged, nothing imported."""
    changed = []

    def checked(done, total):
        if not changed:
            changed.append(done)
            change(path)
    with pytest.raises(readers.FileChanged) as caught:
        erp.import_file(erp.user("root"), "customer", str(path), check_progress=checked)
    assert changed and customer_count(erp) == 0
    return str(caught.value)


def test_a_file_written_to_while_it_is_imported__nothing_is_imported(erp, tmp_path):
    path = tmp_path / "customers.csv"
    customers_file(path, 1200)
    message = import_changing(erp, path, lambda p: customers_file(p, 1300, "Other"))
    assert message == ("customers.csv was written to while it was being imported; nothing was "
                       "imported. Import it again once it is complete and nothing else is "
                       "writing it")


def test_a_change_of_the_same_size_with_its_time_put_back_is_still_seen(erp, tmp_path):
    path = tmp_path / "customers.csv"
    customers_file(path, 1200)

    def same_size(p: Path) -> None:
        st = p.stat()
        p.write_text(p.read_text(encoding="utf-8").replace("Customer 0007", "Customer 9997"),
                     encoding="utf-8")
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))  # as `touch -r` or a copy tool would
        assert p.stat().st_size == st.st_size and p.stat().st_mtime_ns == st.st_mtime_ns
    assert "customers.csv was written to" in import_changing(erp, path, same_size)


def test_a_file_replaced_by_another_while_it_is_imported__nothing_is_imported(erp, tmp_path):
    path = tmp_path / "customers.csv"
    customers_file(path, 1200)

    def replaced(p: Path) -> None:
        other = tmp_path / "new.csv"
        customers_file(other, 1200, "Replaced")  # the same size
        os.replace(other, p)
    assert import_changing(erp, path, replaced).startswith(
        "customers.csv was replaced by another file while it was being imported")


def test_a_file_that_changes_between_two_reads_is_refused_at_the_second(tmp_path):
    path = tmp_path / "customers.csv"
    customers_file(path, 3)
    book = readers.open_sheets(str(path))
    try:
        assert len(list(book.rows(""))) == 4
        customers_file(path, 4)
        with pytest.raises(readers.FileChanged, match="customers.csv was written to"):
            list(book.rows(""))
    finally:
        book.close()


def test_an_unchanged_file_imports_from_its_path(erp, tmp_path):
    path = tmp_path / "customers.csv"
    customers_file(path, 1200)
    result = erp.import_file(erp.user("root"), "customer", str(path))
    assert result.ok and len(result.created) == 1200 == customer_count(erp)
