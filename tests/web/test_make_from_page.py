"""In a real browser (issue 13 items 2 and 5): an approved request's page shows "Create
Handover"; it opens the handover form prefilled from the request, saving it makes a handover
that links back; the line picker offers only the lines of the request the form names, and
follows when another request is chosen."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import FIXTURES, make_engine

from .conftest import serving
from .test_walkthrough import login


@pytest.fixture
def shop(database_url, clock):
    eng = make_engine(FIXTURES / "make_from", database_url, clock)
    for name, roles in {"alice": ["requester"], "kim": ["keeper"], "val": ["viewer"]}.items():
        eng.add_user(name, roles, password=f"{name}-pass-123")
    yield eng
    eng.close()


@pytest.fixture
def shop_server(shop):
    with serving(shop, "make-from", threads=2) as url:
        yield url


def approved(eng, items):
    alice = eng.user("alice")
    rec = eng.create(alice, "request", {"supplier": "Northwind", "site": "Dock 1", "items": items})
    eng.act(alice, "request", rec.id, "approve")
    return eng.get(alice, "request", rec.id)


def test_create_button_opens_the_prefilled_form_and_the_line_picker_follows_the_request(
        shop_server, browser, shop, shot):
    first = approved(shop, [{"item": "Bolt", "qty": 10}, {"item": "Nut", "qty": 4}])
    second = approved(shop, [{"item": "Pin", "qty": 2}])
    bolt, nut = (row["_id"] for row in first.data["items"])
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, shop_server, "kim")
    page.goto(f"{shop_server}/f/request/{first.id}")
    expect(page.locator("#make-handover")).to_have_text("Create Handover")
    shot(page, "request-page")
    page.click("#make-handover")
    expect(page).to_have_url(f"{shop_server}/f/handover/new?from=request:{first.id}")
    expect(page.locator("#made-from")).to_have_text(f"Made from Supply request {first.number}")
    expect(page.locator("#f-request")).to_have_value(str(first.id))
    expect(page.locator("#f-items-0-request_item")).to_have_value(bolt)
    expect(page.locator("#f-items-1-request_item")).to_have_value(nut)
    expect(page.locator("#f-items-1-qty")).to_have_value("4")
    options = page.locator("#f-items-0-request_item option")
    expect(options).to_have_text([options.first.inner_text(),
                                  f"{first.number} · Bolt × 10", f"{first.number} · Nut × 4"])
    shot(page, "prefilled")
    page.fill("#f-items-0-qty", "3")
    page.click("#save")
    expect(page.locator("#record-title")).to_be_visible(timeout=15000)
    made = shop.list(shop.user("kim"), "handover").items
    assert len(made) == 1
    assert made[0].data["request"] == first.id
    assert [(r["request_item"], r["qty"]) for r in made[0].data["items"]] == [(bolt, 3), (nut, 4)]
    # choosing another request: the line picker offers that request's lines only
    page.goto(f"{shop_server}/f/handover/new")
    page.select_option("#f-request", str(second.id))
    # htmx fetches the options; on the shared 2-core machine that can take a few seconds
    expect(page.locator("#f-items-0-request_item option")).to_have_count(2, timeout=15000)
    expect(page.locator("#f-items-0-request_item option").nth(1)).to_have_text(
        f"{second.number} · Pin × 2")
    shot(page, "picker-follows")


def test_create_button__only_when_the_user_may_create_and_the_source_allows_it(
        shop_server, browser, shop):
    alice = shop.user("alice")
    draft = shop.create(alice, "request", {"supplier": "N", "items": [{"item": "Bolt", "qty": 1}]})
    ready = approved(shop, [{"item": "Nut", "qty": 1}])
    page = browser.new_page()
    login(page, shop_server, "kim")
    page.goto(f"{shop_server}/f/request/{draft.id}")
    expect(page.locator("#record-title")).to_be_visible()
    expect(page.locator("#make-handover")).to_have_count(0)  # not approved yet
    page.goto(f"{shop_server}/f/request/{ready.id}")
    expect(page.locator("#make-handover")).to_have_count(1)
