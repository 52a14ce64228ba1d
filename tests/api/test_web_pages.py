"""Server-side checks of the web pages added for import, admin, out of office and exports:
CSRF, size limit, permissions and streaming, through Flask's test client with CSRF on."""
from __future__ import annotations

import csv
import io
import re
from datetime import date

import openpyxl
import pytest

from engine.alerts import outbox
from tests.api.conftest import logged_in, order_data


@pytest.fixture
def browser_as(app):
    """browser_as('alice') → a cookie client logged in as alice, with .token (CSRF) and .post()."""
    def login(name: str):
        c = logged_in(app, name)
        c.send = lambda url, data=None, **kw: c.post(url, data={"csrf_token": c.token, **(data or {})}, **kw)
        return c
    return login


def csv_file(text: str, name: str = "upload.csv"):
    return (io.BytesIO(text.encode("utf-8")), name)


# --- import ------------------------------------------------------------------------


@pytest.mark.outbox_ok  # imported low-stock products queue an email
def test_import_page__template_dry_run_lists_every_bad_row_then_imports_all(browser_as, engine, users):
    pat = browser_as("pat")
    page = pat.get("/f/product/import")
    assert page.status_code == 200 and 'id="template-xlsx"' in page.get_data(as_text=True)
    tpl = pat.get("/f/product/import/template.csv")
    assert tpl.status_code == 200 and tpl.data.decode("utf-8-sig").startswith("sku,name,price")
    wb = openpyxl.load_workbook(io.BytesIO(pat.get("/f/product/import/template.xlsx").data))
    assert [c.value for c in wb.active[1]][:3] == ["sku", "name", "price"]

    bad = "sku,name,price,stock_qty\nA-1,Apple,1.50,3\nA-2,,2.00,4\nA-3,Cherry,abc,5\n"
    r = pat.send("/f/product/import", {"file": csv_file(bad), "mode": "dry_run"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    rows = re.findall(r'<td class="num">(\d+)</td><td>(\w*)</td>', html)
    assert rows == [("3", "name"), ("4", "price")]  # every bad row, with the column
    assert engine.list(users["pat"], "product").total == 0

    good = "sku,name,price,stock_qty\nA-1,Apple,1.50,3\nA-2,Banana,2.00,4\n"
    r = pat.send("/f/product/import", {"file": csv_file(good), "mode": "dry_run"})
    assert r.status_code == 200 and "All 2 rows are fine" in r.get_data(as_text=True)
    assert engine.list(users["pat"], "product").total == 0  # a dry run writes nothing
    r = pat.send("/f/product/import", {"file": csv_file(good), "mode": "import"},
                 headers={"HX-Request": "true", "HX-Target": "import-result"})
    assert r.status_code == 200
    assert "<html" not in r.get_data(as_text=True)  # htmx gets the fragment only
    assert "2 records created" in r.get_data(as_text=True)
    assert engine.list(users["pat"], "product").total == 2

    r = pat.send("/f/product/import", {"file": csv_file(bad), "mode": "import"})
    assert r.status_code == 422 and engine.list(users["pat"], "product").total == 2  # all or nothing


def test_import_page__needs_create_role_csrf_and_a_small_readable_file(app, browser_as, engine):
    alice = browser_as("alice")  # sales: may not create products
    assert alice.get("/f/product/import").status_code == 403
    assert alice.get("/f/product/import/template.csv").status_code == 403
    assert alice.send("/f/product/import", {"file": csv_file("sku\nX\n")}).status_code == 403
    pat = browser_as("pat")
    r = pat.post("/f/product/import", data={"file": csv_file("sku,name,price\nX,Y,1\n")})  # no token
    assert r.status_code == 400 and "CSRF" in r.get_data(as_text=True)
    r = pat.send("/f/product/import", {"file": csv_file("x", "notes.txt")})
    assert r.status_code == 400 and "must be .csv or .xlsx" in r.get_data(as_text=True)
    r = pat.send("/f/product/import", {"file": (io.BytesIO(b"PK\x03\x04 not a zip"), "bad.xlsx")})
    assert r.status_code == 400 and 'id="import-error"' in r.get_data(as_text=True)
    app.config["MAX_CONTENT_LENGTH"] = 1024
    r = pat.send("/f/product/import", {"file": csv_file("sku,name,price\n" + "X,Y,1\n" * 500)})
    assert r.status_code == 413
    assert pat.get("/f/nope/import").status_code == 404


# --- admin -------------------------------------------------------------------------


def test_admin__others_get_404_and_admin_manages_users(browser_as, engine):
    alice = browser_as("alice")
    for url in ("/admin", "/admin/alerts"):
        assert alice.get(url).status_code == 404
    assert alice.send("/admin/users", {"name": "mallory", "password": "x" * 12}).status_code == 404
    assert alice.send("/admin/users/bob", {"what": "deactivate"}).status_code == 404
    assert alice.send("/admin/dead/1/retry").status_code == 404

    root = browser_as("root")
    r = root.send("/admin/users", {"name": "carol", "password": "carol-pass-123", "roles": ["sales"],
                                   "manager": "sam", "language": "zh", "email": "carol@example.com"})
    assert r.status_code == 302
    carol = engine.user("carol")
    assert carol.roles == {"sales"} and carol.manager == "sam" and carol.language == "zh"
    r = root.send("/admin/users", {"name": "dave", "password": "short", "roles": ["wizard"]})
    assert r.status_code == 422 and "unknown role(s): wizard" in r.get_data(as_text=True)

    r = root.send("/admin/users/carol", {"what": "update", "roles": ["sales", "finance"], "manager": "gm",
                                         "language": "en", "email": "c@example.com"})
    assert r.status_code == 302
    carol = engine.user("carol")
    assert carol.roles == {"sales", "finance"} and carol.manager == "gm" and carol.language == "en"
    assert root.send("/admin/users/carol", {"what": "update", "manager": "nobody"}).status_code == 422

    c = browser_as("carol")
    assert c.get("/").status_code == 200
    r = root.send("/admin/users/carol", {"what": "password", "password": "fresh-pass-456"})
    assert r.status_code == 302
    assert c.get("/").status_code == 302  # the reset ended carol's session
    engine.authenticate("carol", "fresh-pass-456")

    bob = browser_as("bob")
    r = root.send("/admin/users/bob", {"what": "deactivate"})
    assert r.status_code == 302, r.get_data(as_text=True)
    assert bob.get("/").status_code == 302
    assert "bob" not in {u.name for u in engine.users.all()}
    assert root.send("/admin/users/root", {"what": "deactivate"}).status_code == 422  # not yourself


def test_admin__retry_a_dead_letter(browser_as, engine, clock):
    with engine.db.write() as conn:
        oid = outbox.enqueue(conn, "email", {"to": "x@example.com", "subject": "hi"}, clock.now())
    outbox.claim(engine.db, "t", clock.now())
    assert outbox.mark_failed(engine.db, oid, "t", clock.now(), "smtp down", max_attempts=1) == "dead"
    root = browser_as("root")
    assert f'id="retry-{oid}"' in root.get("/admin").get_data(as_text=True)
    r = root.send(f"/admin/dead/{oid}/retry", follow_redirects=True)
    assert "Queued again for delivery" in r.get_data(as_text=True)
    assert engine.dead_letters() == [] and engine.outbox_status().get("pending") == 1
    r = root.send(f"/admin/dead/{oid}/retry", follow_redirects=True)
    assert "not dead" in r.get_data(as_text=True)
    with engine.db.write() as conn:  # leave no undelivered row behind
        conn.execute(outbox.o.delete())


@pytest.mark.outbox_ok  # the low-stock alert queues an email
def test_admin__alert_traces_and_why_the_low_stock_alert_did_not_fire(browser_as, engine, users):
    product = engine.create(users["pat"], "product", {"sku": "P-1", "name": "Widget", "price": "1.00",
                                                      "stock_qty": 50, "safety_stock": 10})
    engine.update(users["pat"], "product", product.id, {"stock_qty": 40}, product.version)
    root = browser_as("root")
    html = root.get(f"/admin/alerts?alert=low_stock&record={product.id}").get_data(as_text=True)
    assert 'id="explain-condition" class="bad">No' in html  # 40 < 10 is false: why it did not fire
    assert "<dt>stock_qty</dt><dd>40</dd>" in html and "condition_false" in html
    assert root.get("/admin/alerts?alert=nope").status_code == 404
    assert root.get("/admin/alerts?alert=low_stock&record=999999").status_code == 404
    # the record page answers the same question, compactly
    page = browser_as("pat").get(f"/f/product/{product.id}").get_data(as_text=True)
    assert 'id="alert-low_stock"' in page and "stock_qty &lt; safety_stock" in page


@pytest.mark.outbox_ok  # the low-stock alert fires and queues an email
def test_record_page__shows_an_alert_that_fired(browser_as, engine, users):
    # a `fired` trace carries no condition values: the page must still render
    product = engine.create(users["pat"], "product", {"sku": "P-2", "name": "Gadget", "price": "1.00",
                                                      "stock_qty": 2, "safety_stock": 10})
    r = browser_as("pat").get(f"/f/product/{product.id}")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert 'id="alert-low_stock"' in page and "Fired" in page


# --- out of office -------------------------------------------------------------------


def test_account__out_of_office_sends_new_tasks_to_the_delegate(browser_as, engine):
    sam = browser_as("sam")
    r = sam.send("/account", {"what": "away", "away_from": "2026-03-01", "away_until": "2026-03-10",
                              "delegate": "sue"})
    assert r.status_code == 302
    assert engine.out_of_office(engine.user("sam")) == {"start": date(2026, 3, 1), "until": date(2026, 3, 10),
                                                        "delegate": "sue"}
    assert "2026-03-01 – 2026-03-10" in sam.get("/account").get_data(as_text=True)
    with engine.db.read() as conn:
        assert engine.users.delegate_of("sam", date(2026, 3, 2), conn) == "sue"
    r = sam.send("/account", {"what": "away", "away_from": "2026-03-10", "away_until": "2026-03-01",
                              "delegate": "sue"})
    assert r.status_code == 422 and "before the first day away" in r.get_data(as_text=True)
    assert sam.send("/account", {"what": "away", "away_from": "2026-03-01", "delegate": "ghost"}).status_code == 422
    assert sam.send("/account", {"what": "back"}).status_code == 302
    assert engine.out_of_office(engine.user("sam"))["delegate"] is None


# --- streamed exports ----------------------------------------------------------------


def test_exports__large_downloads_stream_in_chunks(browser_as, engine, users, api):
    with engine.batch():
        for i in range(2500):
            engine.create(users["alice"], "customer", {"name": f"C{i:05d}", "region": "north"})
    alice = browser_as("alice")
    r = alice.get("/f/customer/export.csv", buffered=False)
    assert r.status_code == 200 and r.is_streamed
    assert not isinstance(r.response, (list, tuple, bytes))  # a generator, not a buffered body
    chunks = [c for c in r.response if c]
    r.close()
    assert len(chunks) >= 3  # header, then every 1000 rows
    text = b"".join(chunks).decode("utf-8-sig")
    assert text.count("\r\n") == 2501 and "C02499" in text

    r = alice.get("/f/customer/export.xlsx", buffered=False)
    assert r.is_streamed
    body = b"".join(r.response)
    r.close()
    assert sum(1 for _ in openpyxl.load_workbook(io.BytesIO(body), read_only=True).active.iter_rows()) == 2501

    r = alice.get("/reports/sales_by_month/download.csv?since=2026-01-01", buffered=False)
    assert r.status_code == 200 and r.is_streamed
    r.close()
    r = api("alice").get("/api/reports/sales_by_month?format=xlsx", buffered=False)
    assert r.status_code == 200 and r.is_streamed and r.data[:2] == b"PK"
    r.close()
    assert browser_as("pat").get("/f/sales_order/export.csv").status_code == 403
    assert api("pat").get("/api/reports/sales_by_month?format=csv").status_code == 403


def test_form_export_download_shows_titles_number_and_state(browser_as, engine, users, catalog):
    order = engine.create(users["alice"], "sales_order", order_data(catalog))
    r = browser_as("alice").get("/f/sales_order/export.csv")
    rows = list(csv.reader(io.StringIO(r.get_data().decode("utf-8-sig"))))
    head = rows[0]
    assert head[:3] == ["Number", "State", "Customer"]
    row = dict(zip(head, rows[1]))
    assert (row["Number"], row["State"], row["Customer"], row["Channel"]) == \
        (order.number, "Draft", "Acme", "phone")
    r = browser_as("alice").get("/f/sales_order/export.xlsx", buffered=False)
    assert r.is_streamed
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(r.response)))
    r.close()
    assert wb.sheetnames == ["sales_order", "sales_order.lines"]
    lines = [list(v) for v in wb["sales_order.lines"].iter_rows(values_only=True)]
    assert lines[0][:3] == ["Sales order", "Product", "Qty"]
    assert lines[1][:3] == [order.number, "Widget", 2]  # the product by its title


def test_record_page__money_and_counts_read_with_thousands_separators(browser_as, engine, users):
    product = engine.create(users["pat"], "product", {"sku": "P-9", "name": "Lathe", "price": "13360.00",
                                                      "stock_qty": 12000, "safety_stock": 1})
    record = browser_as("pat").get(f"/f/product/{product.id}").get_data(as_text=True)
    price = re.search(r'id="value-price">([^<]*)<', record).group(1)
    assert "13,360.00" in price and "13360" not in record
    assert re.search(r'id="value-stock_qty">12,000<', record)
