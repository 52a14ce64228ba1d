"""Every record prints: letterhead from app.yaml, fields, lines, totals and a signatures block,
with print CSS that leaves the page chrome out (order confirmation, delivery note, invoice)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import BACKENDS

from .uxdemo import demo_app, login


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request, tmp_path_factory):
    with demo_app(request.param, tmp_path_factory.mktemp("print"), customers=6, orders=12) as app:
        yield app


@pytest.mark.outbox_ok
def test_an_approved_order_prints_with_letterhead_lines_totals_and_signatures(demo, browser, shot, tmp_path):
    eng, base = demo
    admin = eng.user("admin")
    rec = eng.list(admin, "sales_order", filter="state == 'approved'", limit=1).items[0]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, base, "sam")
    page.goto(f"{base}/f/sales_order/{rec.id}")
    page.click("#print")
    expect(page.locator("#letterhead")).to_contain_text("Loom Furniture Co., Ltd.")
    expect(page.locator(".doc-number")).to_have_text(rec.number)
    expect(page.locator("table.doc-lines tbody tr")).to_have_count(len(rec.data["lines"]))
    expect(page.locator("#doc-totals")).to_contain_text(f"{rec.data['total']:,.2f}")
    approvers = [e.actor for e in eng.history(admin, "sales_order", rec.id) if e.action == "approve"]
    assert approvers
    expect(page.locator("#signatures .sig")).to_have_count(2 + len(approvers))
    expect(page.locator("#signatures")).to_contain_text(approvers[0])
    shot(page, "print-screen")
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    expect(page.locator("#print-now")).to_be_hidden()
    pdf = tmp_path / "order.pdf"
    page.pdf(path=str(pdf), format="A4")
    assert pdf.read_bytes().startswith(b"%PDF")
    page.close()


@pytest.mark.outbox_ok
def test_print_view_in_chinese(demo, browser, shot):
    eng, base = demo
    admin = eng.user("admin")
    rec = eng.list(admin, "invoice", limit=1).items[0]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, base, "li.na")
    page.goto(f"{base}/f/invoice/{rec.id}/print")
    expect(page.locator("#letterhead")).to_contain_text("织机家具有限公司")
    expect(page.locator("#signatures")).to_contain_text("制单")
    page.emulate_media(media="print")
    shot(page, "print-zh")
    page.close()
