"""Forms people can use: pickers with a subtitle, line columns only where a line needs them,
workflow-only fields out of the way, every typed row kept after a failed save, and on a phone
line items that keep their labels and actions at hand."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import BACKENDS

from .uxdemo import demo_app, login


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request, tmp_path_factory):
    with demo_app(request.param, tmp_path_factory.mktemp("forms"), customers=8, orders=10) as app:
        yield app


def products(eng):
    admin = eng.user("admin")
    items = eng.list(admin, "product", limit=200).items
    stock = next(p for p in items if not p.data.get("made_to_order"))
    custom = next(p for p in items if p.data.get("made_to_order"))
    return stock, custom


@pytest.mark.outbox_ok
def test_order_entry_reads_well_and_keeps_what_was_typed(demo, browser, shot):
    eng, base = demo
    stock, custom = products(eng)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, base, "alice")
    page.goto(base + "/f/sales_order/new")
    # fields only the workflow sets are not on the entry form
    for name in ("approved_at", "submitted_on", "over_credit", "shipped_value"):
        expect(page.locator(f"#field-{name}")).to_have_count(0)
    # the product picker shows the code and, under it, the name and price
    option = page.locator("#f-lines-0-product option", has_text=stock.data["sku"])
    expect(option).to_contain_text(stock.data["name"])
    # typing the name finds the product too
    page.fill("#f-lines-0-product >> xpath=preceding-sibling::input", stock.data["name"])
    expect(page.locator("#f-lines-0-product option")).to_have_count(2)  # "— select —" and the match
    page.select_option("#f-lines-0-product", value=str(stock.id))
    # searching again keeps the choice
    page.fill("#f-lines-0-product >> xpath=preceding-sibling::input", "zzz-nothing")
    expect(page.locator("#f-lines-0-product option")).to_have_count(2)
    expect(page.locator("#f-lines-0-product")).to_have_value(str(stock.id))
    page.fill("#f-lines-0-qty", "3")
    # a stock product: the made-to-order columns fold away
    expect(page.locator("fieldset#f-lines th.col-unused")).to_have_count(3)
    page.click("button.add-row")
    page.select_option("#f-lines-1-product", value=str(custom.id))
    page.fill("#f-lines-1-qty", "2")
    expect(page.locator("fieldset#f-lines th.col-unused")).to_have_count(0)
    expect(page.locator("#f-lines-1-size")).to_be_visible()
    expect(page.locator("td:has(#f-lines-0-size)")).to_have_class(re.compile("cell-hidden"))
    shot(page, "order-entry")
    # no customer and no size: refused, and both lines are still there as typed
    page.click("#save")
    expect(page.locator("#form-message")).to_be_visible()
    expect(page.locator("#f-lines-0-qty")).to_have_value("3")
    expect(page.locator("#f-lines-1-qty")).to_have_value("2")
    expect(page.locator("#f-lines-0-product")).to_have_value(str(stock.id))
    expect(page.locator("#f-lines-1-product")).to_have_value(str(custom.id))
    shot(page, "order-refused")
    page.close()


@pytest.mark.outbox_ok
def test_a_blank_line_to_type_into_after_a_failed_save(demo, browser):
    _eng, base = demo
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, base, "alice")
    page.goto(base + "/f/sales_order/new")
    page.click("#save")  # nothing typed
    expect(page.locator("#form-message")).to_be_visible()
    expect(page.locator("#f-lines-0-product")).to_be_visible()
    page.close()


@pytest.mark.outbox_ok
def test_on_a_phone_lines_keep_labels_and_actions_come_first(demo, browser, shot):
    eng, base = demo
    page = browser.new_page(viewport={"width": 390, "height": 844})
    login(page, base, "li.na")
    admin = eng.user("admin")
    rec = eng.list(admin, "sales_order", filter="state == 'manager_review'", limit=1).items[0]
    page.goto(f"{base}/f/sales_order/{rec.id}")
    actions = page.locator("section.actions").bounding_box()
    record = page.locator("dl.fields").bounding_box()
    assert actions["y"] < record["y"]  # at hand: above the record, not after all of it
    cell = page.locator("table.lines tbody tr").first.locator("td").first
    assert cell.evaluate("td => getComputedStyle(td, '::before').content") == '"产品"'
    shot(page, "record-phone-zh")
    page.goto(base + "/f/sales_order/new")
    cell = page.locator("fieldset#f-lines tbody tr").first.locator("td").first
    assert "产品" in cell.evaluate("td => getComputedStyle(td, '::before').content")
    shot(page, "entry-phone-zh")
    page.close()
