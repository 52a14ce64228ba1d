"""The full path in a real browser: order entry with line items, approval, transfer, report, CSV."""
from __future__ import annotations

import re

from playwright.sync_api import expect


def login(page, base, name):
    page.goto(base + "/login")
    page.fill("#username", name)
    page.fill("#password", f"{name}-pass-123")
    page.click("button[type=submit]")
    expect(page.locator("a.me")).to_have_text(name)


def logout(page):
    page.click("#logout")
    expect(page.locator("#username")).to_be_visible()


def test_order_to_approval_transfer_and_report(server, browser, engine, users, shot):
    base = server
    engine.create(users["alice"], "customer", {"name": "Acme", "region": "north"})
    for sku, name, price in (("P-1", "Widget", "12.50"), ("P-2", "Gadget", "3.20"), ("P-3", "Gizmo", "100.00")):
        engine.create(users["pat"], "product", {"sku": sku, "name": name, "price": price, "stock_qty": 50})
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, accept_downloads=True)  # phone-sized
    page = ctx.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    # alice logs in and fills a sales order with three line items
    page.goto(base + "/")
    expect(page.locator("#username")).to_be_visible()
    shot(page, "login")
    login(page, base, "alice")
    shot(page, "home")
    page.click("#new-sales_order")
    page.select_option("#f-customer", label="Acme")
    page.fill("#f-order_date", "2026-03-02")
    page.fill("#f-due_date", "2026-02-01")  # before the order date: a validation error
    page.click("button.add-row")
    page.click("button.add-row")
    lines = [("Widget", "2", "12.50"), ("Gadget", "5", ""), ("Gizmo", "1", "100.00")]
    for i, (product, qty, price) in enumerate(lines):
        page.select_option(f"#f-lines-{i}-product", label=product)
        page.fill(f"#f-lines-{i}-qty", qty)
        if price:
            page.fill(f"#f-lines-{i}-price", price)
    expect(page.locator("#f-lines-1-price")).to_have_value("3.20")  # copied from the picked product
    expect(page.locator("#f-total")).to_have_text("141.00")  # 25 + 16 + 100, live
    shot(page, "order-filled")
    page.click("#save")
    expect(page.locator("#form-message")).to_be_visible()
    expect(page.locator("#err-f-due_date")).to_have_text("Due date is before the order date")
    expect(page.locator("#f-lines-2-qty")).to_have_value("1")  # what the user typed is kept
    expect(page.locator("#f-total")).to_have_text("141.00")
    shot(page, "validation-error")
    page.fill("#f-due_date", "2026-03-20")
    page.click("#save")
    expect(page.locator("#record-state")).to_be_visible()
    expect(page.locator("#value-total")).to_have_text("141.00")
    number = page.locator("#record-title").inner_text()
    assert re.match(r"SO-202603-\d{5}", number)
    shot(page, "record-draft")
    page.click("#act-submit")
    expect(page.locator("#record-state")).to_have_text("Manager review")
    shot(page, "record-submitted")
    # a second order, submitted through the engine, for the transfer
    second = engine.create(users["alice"], "sales_order", {
        "customer": 1, "due_date": "2026-03-25", "lines": [{"product": 4, "qty": 1}]})
    engine.act(users["alice"], "sales_order", second.id, "submit")
    logout(page)

    # sam approves the first order from his inbox, and transfers the second to gm
    login(page, base, "sam")
    page.click("text=Inbox")
    expect(page.locator("a.task-link", has_text=number)).to_be_visible()
    shot(page, "inbox")
    page.click(f"a.task-link:has-text('{number}')")
    page.fill("#comment", "Looks good")
    shot(page, "record-to-approve")
    page.click("#act-approve")
    expect(page.locator("#record-state")).to_have_text(re.compile("approved", re.I))
    expect(page.locator("#history")).to_contain_text("Looks good")
    shot(page, "record-approved")
    page.click("text=Inbox")
    page.click(f"a.task-link:has-text('{second.number}')")
    page.select_option("#to-transfer", "gm")
    page.fill("#comment-transfer", "gm handles this customer")
    page.click("#act-transfer")
    expect(page.locator(".flash")).to_be_visible()
    shot(page, "after-transfer")
    assert [t.record_id for t in engine.tasks(users["gm"])] == [second.id]

    # the report: chart and table, and the CSV download
    page.click("text=Reports")
    shot(page, "reports")
    page.click("text=Sales by month")
    page.fill("input[name=since]", "2026-01-01")
    page.click("#params button[type=submit]")
    chart = page.locator("#chart-sales_by_month")
    expect(chart).to_be_visible()
    assert page.evaluate("document.getElementById('chart-sales_by_month').naturalWidth") > 0
    expect(page.locator("#table-sales_by_month")).to_contain_text("141.00")
    shot(page, "report")
    with page.expect_download() as dl:
        page.click("#csv-sales_by_month")
    path = dl.value.path()
    text = open(path, encoding="utf-8-sig").read()
    assert "141.00" in text and dl.value.suggested_filename == "sales_by_month.csv"
    assert not [e for e in errors if "Content Security Policy" in e], errors
    ctx.close()


def test_list_search_filters_and_chinese_labels(server, browser, engine, users, shot):
    engine.users.update("alice", language="zh")
    for name, region in (("Acme", "north"), ("Beta", "south"), ("Cobalt", "north")):
        engine.create(users["alice"], "customer", {"name": name, "region": region})
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    login(page, server, "alice")
    page.goto(server + "/f/customer")
    expect(page.locator("h1")).to_have_text("客户")
    page.select_option("select[name='x.region']", "north")
    page.click(".filters button[type=submit]")
    expect(page.locator("#results table tbody tr")).to_have_count(2)
    page.fill("#q", "cob")
    page.click(".filters button[type=submit]")
    expect(page.locator("#results table tbody tr")).to_have_count(1)
    expect(page.locator("#results")).to_contain_text("Cobalt")
    shot(page, "customer-list-zh")
    page.close()
