"""In a real browser: batch import with a dry run, admin user management and alert "why not",
out of office, and visible_if / computed fields inside line-item rows."""
from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import expect

from tests.conftest import DEMO_USERS, VALID, make_engine

from .conftest import serving

HIDDEN = re.compile(r"\bcell-hidden\b")  # (a column no line shows is also folded: col-unused)

from .test_walkthrough import login, logout


@pytest.mark.outbox_ok  # imported products below their safety stock queue a low-stock email
def test_import_dry_run_shows_every_bad_row_then_imports(server, browser, engine, users, shot, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    login(page, server, "pat")
    page.goto(server + "/f/product")
    page.click("#import")
    with page.expect_download() as dl:
        page.click("#template-csv")
    assert open(dl.value.path(), encoding="utf-8-sig").read().startswith("sku,name,price")
    bad = tmp_path / "products.csv"
    bad.write_text("sku,name,price,stock_qty\nA-1,Apple,1.50,3\nA-2,,2.00,4\nA-3,Cherry,abc,5\n")
    page.set_input_files("#import-file", str(bad))
    page.click("#import-check")
    expect(page.locator("#import-errors tbody tr")).to_have_count(2)
    expect(page.locator("#import-errors")).to_contain_text("name")
    expect(page.locator("#import-errors")).to_contain_text("price")
    shot(page, "dry-run-errors")
    page.click("#import-run")  # the real import refuses the same file: nothing is written
    expect(page.locator("#import-summary")).to_have_attribute("data-ok", "false")
    assert engine.list(users["pat"], "product").total == 0
    good = tmp_path / "products-fixed.csv"
    good.write_text("sku,name,price,stock_qty\nA-1,Apple,1.50,3\nA-2,Banana,2.00,4\nA-3,Cherry,3.00,5\n")
    page.set_input_files("#import-file", str(good))
    page.click("#import-check")
    expect(page.locator("#import-summary")).to_contain_text("All 3 rows are fine")
    page.click("#import-run")  # the file input keeps the file: no re-upload step
    expect(page.locator("#import-summary")).to_contain_text("3 records created")
    shot(page, "imported")
    assert engine.list(users["pat"], "product").total == 3
    page.click("#import-see")
    expect(page.locator("#results table tbody tr")).to_have_count(3)
    page.close()


@pytest.mark.outbox_ok
def test_admin_adds_a_user_and_answers_why_an_alert_did_not_fire(server, browser, engine, users, shot):
    product = engine.create(users["pat"], "product", {"sku": "P-1", "name": "Widget", "price": "1.00",
                                                      "stock_qty": 50, "safety_stock": 10})
    engine.update(users["pat"], "product", product.id, {"stock_qty": 12}, product.version)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, server, "root")
    page.click("nav a[href='/admin']")
    page.click("#add-user-box summary")
    page.fill("#new-name", "carol")
    page.fill("#new-password", "carol-pass-123")
    page.select_option("#new-roles", ["sales"])
    page.select_option("#new-manager", "sam")
    page.select_option("#new-language", "zh")
    page.click("#add-user-submit")
    expect(page.locator(".flash")).to_have_text("User added.")
    expect(page.locator("#user-carol .roles")).to_have_text("sales")
    shot(page, "users")
    page.click("#alert-traces")
    page.select_option("#trace-alert", "low_stock")
    page.fill("#trace-record", str(product.id))
    page.click("#trace-go")
    expect(page.locator("#explain-condition")).to_have_text("No")  # 12 < 10 is false
    expect(page.locator("#explain-values")).to_contain_text("12")
    expect(page.locator("#trace-table .outcome").first).to_have_attribute("data-outcome", "condition_false")
    expect(page.locator("#trace-table .outcome").first).to_have_text("Did not fire: its condition did not hold")
    shot(page, "alert-why-not")
    logout(page)
    login(page, server, "carol")
    expect(page.locator("h1")).to_be_visible()
    assert engine.user("carol").manager == "sam"
    page.close()


def test_out_of_office_on_the_account_page(server, browser, engine, shot):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    login(page, server, "sam")
    page.click("a.me")
    page.fill("#away_from", "2026-03-02")
    page.fill("#away_until", "2026-03-09")
    page.select_option("#delegate", "sue")
    page.click("#away-save")
    expect(page.locator("#away-status")).to_contain_text("sue")
    shot(page, "away")
    assert engine.out_of_office(engine.user("sam"))["delegate"] == "sue"
    page.click("#away-clear")
    expect(page.locator("#away-status")).to_have_count(0)
    page.close()


QUOTE = """\
form: quote
title: Quote
number: "Q-{seq:04}"
title_field: number
fields:
  - {name: discount, type: percent, default: 0}
  - {name: discount_reason, type: text, visible_if: "discount > 0"}
  - name: lines
    type: table
    fields:
      - {name: kind, type: choice, options: [stock, custom]}
      - {name: size, type: text, visible_if: "kind == 'custom'"}
      - {name: qty, type: integer}
      - {name: price, type: money}
      - {name: amount, type: money, compute: "qty * price"}
      - {name: surcharge, type: money, compute: "amount * 0.1 if kind == 'custom' else 0"}
  - {name: total, type: money, compute: "sum(lines.amount) + sum(lines.surcharge)"}
  - {name: items, type: integer, compute: "count(lines.qty)"}
permissions:
  create: [sales]
  read: [sales]
"""


@pytest.fixture
def quote_engine(database_url, clock, tmp_path):
    defs = tmp_path / "defs"
    shutil.copytree(VALID, defs)
    (defs / "forms" / "quote.yaml").write_text(QUOTE)
    eng = make_engine(defs, database_url, clock)
    for name, (roles, manager) in DEMO_USERS.items():
        eng.add_user(name, roles, manager=manager, password=f"{name}-pass-123", is_admin=name == "root")
    yield eng
    eng.close()


@pytest.fixture
def quote_server(quote_engine):
    with serving(quote_engine, "quote", threads=2) as url:
        yield url


def test_visible_if_and_computed_fields_inside_line_item_rows(quote_server, browser, quote_engine, shot):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, quote_server, "alice")
    page.goto(quote_server + "/f/quote/new")
    expect(page.locator("#field-discount_reason")).to_be_hidden()
    page.fill("#f-discount", "5")
    expect(page.locator("#field-discount_reason")).to_be_visible()
    size_cell = page.locator("td:has(#f-lines-0-size)")
    expect(size_cell).to_have_class(HIDDEN)
    page.select_option("#f-lines-0-kind", "custom")
    expect(size_cell).not_to_have_class(HIDDEN)
    page.fill("#f-lines-0-size", "XL")
    page.fill("#f-lines-0-qty", "2")
    page.fill("#f-lines-0-price", "10.00")
    expect(page.locator("#f-lines-0-amount")).to_have_text("20.00")
    expect(page.locator("#f-lines-0-surcharge")).to_have_text("2.00")
    page.click("button.add-row")
    page.select_option("#f-lines-1-kind", "stock")
    expect(page.locator("td:has(#f-lines-1-size)")).to_have_class(HIDDEN)
    page.fill("#f-lines-1-qty", "3")
    page.fill("#f-lines-1-price", "1.50")
    expect(page.locator("#f-total")).to_have_text("26.50")  # 20 + 2 + 4.50 + 0
    expect(page.locator("#f-items")).to_have_text("2")
    shot(page, "quote-live")
    page.fill("#f-discount_reason", "loyal")
    page.click("#save")
    expect(page.locator("#value-total")).to_have_text("26.50")  # the server agrees
    page.close()
