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
    page = engine.list(pat, "product", limit=1, sums=["price"], capped_total=True)  # a sum needs all
    assert (page.total, page.total_capped, str(page.totals["price"])) == (5, False, "10.00")


def test_the_list_page_says_more_when_it_stopped_counting(engine, users, app, monkeypatch):
    monkeypatch.setattr(service, "COUNT_AHEAD", 1)
    _customers(engine, users, 60)  # a page is 25: counted to 26, there are more
    client = logged_in(app, "alice")
    html = client.get("/f/customer").get_data(as_text=True)
    assert "1 / 2+ · 26+ records" in html  # at least two pages, as the inbox says it
    monkeypatch.setattr(service, "COUNT_AHEAD", 1000)
    assert "1 / 3 · 60 records" in client.get("/f/customer").get_data(as_text=True)
