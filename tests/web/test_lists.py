"""Lists that work: the form's own columns, state badges, search across linked titles, state
and link filters (type-ahead over every record), sort by any column, totals, saved views."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import BACKENDS

from .uxdemo import demo_app, login


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request, tmp_path_factory):
    with demo_app(request.param, tmp_path_factory.mktemp("lists")) as app:
        yield app


@pytest.mark.outbox_ok
def test_sales_order_list_shows_its_columns_badges_and_totals(demo, browser, shot):
    eng, base = demo
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, base, "admin")
    page.goto(base + "/f/sales_order")
    heads = page.locator("#list-table thead th").all_inner_texts()
    assert heads[:5] == ["Number", "Customer", "Order date", "Due date", "Total"]
    assert "State" in heads
    expect(page.locator("#list-table tbody .state").first).to_have_class(re.compile(r"tone-\w+"))
    admin = eng.user("admin")
    want = eng.list(admin, "sales_order", sums=["total"]).totals["total"]
    expect(page.locator("#total-total")).to_have_text(f"{want:,.2f}")
    shot(page, "sales-orders")

    # search by a customer's name finds that customer's orders (a JOIN, not the number only)
    order = eng.list(admin, "sales_order", limit=1).items[0]
    customer = eng.get(admin, "customer", order.data["customer"]).data["name"]
    page.fill("#q", customer)
    expect(page).to_have_url(re.compile(r"q="))
    expect(page.locator("#list-table tbody tr").filter(has_not_text=customer)).to_have_count(0)
    expect(page.locator("#list-table tbody tr").first).to_contain_text(customer)

    # filter by state; the total follows the filter
    page.goto(base + "/f/sales_order")
    page.select_option("#filter-state", "approved")
    expect(page).to_have_url(re.compile(r"x.state=approved"))
    approved = eng.list(admin, "sales_order", filter="state == 'approved'", sums=["total"])
    expect(page.locator(".pager span")).to_contain_text(f"{approved.total} ")
    expect(page.locator("#total-total")).to_have_text(f"{approved.totals['total']:,.2f}")

    # sort by total, descending on the second click
    page.goto(base + "/f/sales_order")
    page.click("#sort-total")
    page.click("#sort-total")
    expect(page.locator("#sort-total")).to_contain_text("↓")
    top = eng.list(admin, "sales_order", order="-total", limit=1).items[0]
    expect(page.locator("#list-table tbody tr").first).to_contain_text(top.number)
    page.close()


@pytest.mark.outbox_ok
def test_link_filter_finds_a_customer_beyond_the_first_twenty(demo, browser, shot):
    eng, base = demo
    admin = eng.user("admin")
    customers = eng.list(admin, "customer", order="name", limit=100).items
    assert len(customers) > 20
    last = customers[-1]  # not among the first 20 options
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, base, "admin")
    page.goto(base + "/f/sales_order")
    assert page.locator("#filter-customer option", has_text=last.data["name"]).count() == 0
    page.fill("#filter-customer-q", last.data["name"])
    expect(page.locator("#filter-customer option", has_text=last.data["name"])).to_have_count(1)
    page.select_option("#filter-customer", label=last.data["name"])
    theirs = eng.list(admin, "sales_order", filter=f"customer == {last.id}")
    if theirs.total:
        expect(page.locator("#list-table tbody tr")).to_have_count(min(theirs.total, 25))
    else:
        expect(page.locator("#results")).to_contain_text("Nothing matches")
    shot(page, "customer-filter")
    page.close()


@pytest.mark.outbox_ok
def test_saved_views_belong_to_their_user(demo, browser, shot):
    eng, base = demo
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, base, "sam")
    page.goto(base + "/f/sales_order?x.state=manager_review&sort=-total")
    page.click("#saved-views summary")
    page.fill("#view-name", "Waiting for me")
    page.click("#save-view")
    expect(page.locator("a.view-link", has_text="Waiting for me")).to_be_visible()
    page.goto(base + "/f/sales_order")
    page.click("a.view-link:has-text('Waiting for me')")
    expect(page.locator("#filter-state")).to_have_value("manager_review")
    assert [v["name"] for v in eng.saved_views(eng.user("sam"), "sales_order")] == ["Waiting for me"]
    assert eng.saved_views(eng.user("sue" if "sue" in [u.name for u in eng.users.all()] else "gm"),
                           "sales_order") == []
    shot(page, "saved-view")
    page.close()


@pytest.mark.outbox_ok
def test_list_reads_in_chinese_and_on_a_phone(demo, browser, shot):
    _eng, base = demo
    page = browser.new_page(viewport={"width": 390, "height": 844})
    login(page, base, "li.na")
    page.goto(base + "/f/sales_order")
    expect(page.locator("#list-table thead th").first).to_be_hidden()  # phone: labelled cells instead
    cell = page.locator("#list-table tbody tr").first.locator("td").nth(1)
    assert cell.evaluate("td => getComputedStyle(td, '::before').content") == '"客户"'
    shot(page, "zh-phone")
    page.close()
