"""In the browser: a field the user may not change is read-only on the page, and one they
may not see is not on the page, the list, the report or the CSV (the bundled ERP app:
credit terms are finance's to change, product cost is for purchasing, production,
finance and admin to see)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engine.auth.users import SYSTEM

from .test_roles_home import PASSWORD, demo_engine, demo_server  # noqa: F401  (fixtures)


def login(page, url, name):
    page.goto(url + "/login")
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("a.me")).to_have_text(name)


@pytest.mark.outbox_ok  # the demo's alerts queue emails nobody delivers here
def test_fields_one_may_not_change_or_see_on_page_list_report_and_csv(demo_server, demo_engine,  # noqa: F811
                                                                    browser, shot):
    eng, url = demo_engine, demo_server
    customer = eng.list(SYSTEM, "customer", limit=1).items[0]
    product = eng.list(SYSTEM, "product", limit=1).items[0]
    page = browser.new_page(viewport={"width": 1280, "height": 900})

    login(page, url, "alice")
    # the customer's credit limit: shown, not editable; the name: an input
    page.goto(f"{url}/f/customer/{customer.id}/edit")
    expect(page.locator("#f-name")).to_be_editable()
    limit = page.locator("#f-credit_limit")
    expect(limit).to_have_count(1)
    assert limit.evaluate("e => e.tagName") == "OUTPUT"
    expect(page.locator("input[name='f.credit_limit']")).to_have_count(0)
    shot(page, "fieldperms-customer-edit-sales")
    # saving the page keeps the credit limit finance set
    page.fill("#f-industry", "retail")
    page.click("#save")
    expect(page.locator("main")).to_contain_text("retail")
    assert eng.get(SYSTEM, "customer", customer.id).data["credit_limit"] == customer.data["credit_limit"]
    # product cost: not on the record page, not in the list, not in the CSV, report refused
    page.goto(f"{url}/f/product/{product.id}")
    expect(page.locator("main")).to_contain_text(product.data["sku"])
    expect(page.locator("main")).not_to_contain_text("Unit cost")
    page.goto(f"{url}/f/product")
    expect(page.locator("main")).not_to_contain_text("Unit cost")
    csv_text = page.request.get(f"{url}/f/product/export.csv").text()
    assert "SKU" in csv_text.splitlines()[0] and "Unit cost" not in csv_text.splitlines()[0]
    page.goto(f"{url}/reports")
    expect(page.locator("main")).not_to_contain_text("Inventory levels")
    resp = page.goto(f"{url}/reports/inventory_levels")
    assert resp.status == 403
    expect(page.locator("main")).to_contain_text("you may not see the field Unit cost of Product")
    page.click("#logout")

    # purchasing sees all of it: the same pages are not blind by accident
    login(page, url, "pat")
    page.goto(f"{url}/f/product/{product.id}")
    expect(page.locator("main")).to_contain_text("Unit cost")
    page.goto(f"{url}/f/product/{product.id}/edit")
    expect(page.locator("#f-cost")).to_be_editable()
    assert "Unit cost" in page.request.get(f"{url}/f/product/export.csv").text().splitlines()[0]
    resp = page.goto(f"{url}/reports/inventory_levels")
    assert resp.status == 200
    shot(page, "fieldperms-inventory-purchasing")
    page.close()
