"""A list page counts its records only so far past the page (`total_capped`), or all on request."""
from __future__ import annotations

import pytest

import engine.records.service as service
from tests.api.conftest import logged_in


def _customers(engine, users, n):
    for i in range(n):
        engine.create(users["alice"], "customer", {"name": f"C{i}", "region": "north"})


def test_total_stops_counting_past_the_page_and_says_so(engine, users, api, monkeypatch):
    monkeypatch.setattr(service, "COUNT_AHEAD", 3)
    _customers(engine, users, 10)
    client = api("alice")
    page = client.get("/api/forms/customer/records?limit=2").get_json()
    assert len(page["items"]) == 2
    assert (page["total"], page["total_capped"]) == (5, True)  # limit 2 + 3 ahead, more exist
    page = client.get("/api/forms/customer/records?limit=2&offset=4").get_json()
    assert (page["total"], page["total_capped"]) == (9, True)  # the cap moves with the page
    page = client.get("/api/forms/customer/records?limit=2&offset=6").get_json()
    assert (page["total"], page["total_capped"]) == (10, False)  # all counted: exact


def test_total_exact_counts_every_record(engine, users, api, monkeypatch):
    monkeypatch.setattr(service, "COUNT_AHEAD", 3)
    _customers(engine, users, 10)
    page = api("alice").get("/api/forms/customer/records?limit=2&total=exact").get_json()
    assert (page["total"], page["total_capped"]) == (10, False)


def test_total_under_the_cap_is_exact(engine, users, api, monkeypatch):
    monkeypatch.setattr(service, "COUNT_AHEAD", 1000)
    _customers(engine, users, 4)
    page = api("alice").get("/api/forms/customer/records?limit=2").get_json()
    assert (page["total"], page["total_capped"]) == (4, False)


def test_total_other_than_capped_or_exact_is_refused(engine, users, api):
    resp = api("alice").get("/api/forms/customer/records?total=all")
    assert resp.status_code == 400 and resp.get_json()["error"]["fields"] == {"total": "must be capped or exact"}


@pytest.mark.outbox_ok  # products alert purchasing on create; not this test's concern
def test_engine_list_caps_only_when_asked_and_not_when_summing(engine, users, monkeypatch):
    monkeypatch.setattr(service, "COUNT_AHEAD", 1)
    for i in range(5):
        engine.create(users["pat"], "product", {"sku": f"S-{i}", "name": f"P{i}", "price": "2.00"})
    pat = users["pat"]
    page = engine.list(pat, "product", limit=1, capped_total=True)
    assert (page.total, page.total_capped) == (2, True)
    page = engine.list(pat, "product", limit=1)  # the facade counts everything unless asked
    assert (page.total, page.total_capped) == (5, False)
    page = engine.list(pat, "product", limit=1, sums=["price"], capped_total=True)  # sums: 10,000
    assert (page.total, page.total_capped, str(page.totals["price"])) == (5, False, "10.00")


@pytest.mark.outbox_ok  # products alert purchasing on create; not this test's concern
def test_sums_of_a_capped_list_are_exact_or_withheld_never_partial(engine, users, monkeypatch):
    # a totals row over a million records cost 130 ms a page view: it adds up SUMS_AHEAD at most
    monkeypatch.setattr(service, "SUMS_AHEAD", 3)
    pat = users["pat"]
    for i in range(6):
        engine.create(pat, "product", {"sku": f"S-{i}", "name": f"P{i}", "price": f"{i + 1}.00"})
    page = engine.list(pat, "product", limit=2, sums=["price"], capped_total=True)
    assert (page.total, page.total_capped, page.totals) == (5, True, {})  # past the cap: none
    page = engine.list(pat, "product", limit=2, offset=2, sums=["price"], capped_total=True)
    assert (page.total, page.total_capped, str(page.totals["price"])) == (6, False, "21.00")
    few = engine.list(pat, "product", filter="price >= 5", limit=2, sums=["price"],
                      capped_total=True)
    assert (few.total, few.total_capped, str(few.totals["price"])) == (2, False, "11.00")
    page = engine.list(pat, "product", limit=2, sums=["price"])  # uncapped: every record
    assert (page.total, str(page.totals["price"])) == (6, "21.00")


@pytest.mark.outbox_ok  # the app's alerts e-mail users who have no address
def test_the_list_page_says_why_its_totals_are_missing(database_url, clock, monkeypatch):
    from engine.records.service import SUMS_AHEAD
    from tests.app.erp_world import APP, World, add_users
    from tests.conftest import make_engine
    from web import create_app
    import web.views.forms as pages

    eng = make_engine(APP, database_url, clock)
    try:
        add_users(eng)
        w = World(eng)
        for _ in range(4):
            w.order([{"product": w.chair.id, "qty": 1}])
        app = create_app(eng, secret_key="test-secret")
        c = logged_in(app, "sam")
        html = c.get("/f/sales_order").get_data(as_text=True)
        assert 'id="total-total"' in html and "list-totals-withheld" not in html
        monkeypatch.setattr(service, "SUMS_AHEAD", 1)
        monkeypatch.setattr(pages, "SUMS_AHEAD", 1)
        monkeypatch.setattr(pages, "PAGE_SIZE", 2)  # a page of 2 and 1 more: 3 of the 4 orders
        html = c.get("/f/sales_order").get_data(as_text=True)
        assert 'id="total-total"' not in html and "list-totals-withheld" in html
        assert "at most 1 records" in html and SUMS_AHEAD == 10_000
    finally:
        eng.close()


def test_the_list_page_says_more_when_it_stopped_counting(engine, users, app, monkeypatch):
    monkeypatch.setattr(service, "COUNT_AHEAD", 1)
    _customers(engine, users, 60)  # a page is 25: counted to 26, there are more
    client = logged_in(app, "alice")
    html = client.get("/f/customer").get_data(as_text=True)
    assert "1 / 2+ · 26+ records" in html  # at least two pages, as the inbox says it
    monkeypatch.setattr(service, "COUNT_AHEAD", 1000)
    assert "1 / 3 · 60 records" in client.get("/f/customer").get_data(as_text=True)
