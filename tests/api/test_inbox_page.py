"""GET /api/tasks answers a page of the inbox and how many tasks there are in all."""
from __future__ import annotations

import re

import engine.records.service as service

from tests.api.conftest import logged_in, order_data


def _submitted(engine, users, catalog, n) -> list[int]:
    """`n` orders waiting for sam's approval, oldest first."""
    ids = []
    for _ in range(n):
        rec = engine.create(users["alice"], "sales_order", order_data(catalog))
        engine.act(users["alice"], "sales_order", rec.id, "submit")
        ids.append(rec.id)
    return ids


def test_inbox_pages_through_every_open_task_newest_first(engine, users, catalog, api):
    ids = _submitted(engine, users, catalog, 5)
    sam = api("sam")
    first = sam.get("/api/tasks?limit=2").json
    second = sam.get("/api/tasks?limit=2&offset=2").json
    last = sam.get("/api/tasks?limit=2&offset=4").json
    seen = [t["record_id"] for page in (first, second, last) for t in page["items"]]
    assert seen == ids[::-1]
    assert [(p["total"], p["total_capped"]) for p in (first, second, last)] == [(5, False)] * 3


def test_inbox_default_page_is_fifty_with_the_true_total(engine, users, catalog, api, monkeypatch):
    monkeypatch.setattr(service, "COUNT_AHEAD", 1000)
    _submitted(engine, users, catalog, 52)
    page = api("sam").get("/api/tasks").json
    assert (len(page["items"]), page["total"], page["total_capped"]) == (50, 52, False)


def test_inbox_total_stops_counting_past_the_page_unless_exact(engine, users, catalog, api,
                                                               monkeypatch):
    monkeypatch.setattr(service, "COUNT_AHEAD", 1)
    _submitted(engine, users, catalog, 6)
    sam = api("sam")
    page = sam.get("/api/tasks?limit=2").json
    assert (page["total"], page["total_capped"]) == (3, True)  # limit 2 + 1 ahead, more exist
    page = sam.get("/api/tasks?limit=2&total=exact").json
    assert (page["total"], page["total_capped"]) == (6, False)


def test_inbox_counts_only_the_status_asked(engine, users, catalog, api):
    ids = _submitted(engine, users, catalog, 3)
    engine.act(users["sam"], "sales_order", ids[0], "approve")
    sam = api("sam")
    page = sam.get("/api/tasks?limit=1").json
    assert ([t["record_id"] for t in page["items"]], page["total"]) == ([ids[2]], 2)
    done = sam.get("/api/tasks?status=done&limit=1").json
    assert ([t["record_id"] for t in done["items"]], done["total"]) == ([ids[0]], 1)


def test_inbox_page_past_the_end_is_empty_and_still_counts(engine, users, catalog, api):
    _submitted(engine, users, catalog, 3)
    page = api("sam").get("/api/tasks?limit=2&offset=10").json
    assert (page["items"], page["total"], page["total_capped"]) == ([], 3, False)


def test_inbox_paging_parameters_are_checked(api):
    sam = api("sam")
    for query, field in (("limit=-1", "limit"), ("limit=501", "limit"), ("offset=x", "offset"),
                         ("total=all", "total")):
        resp = sam.get(f"/api/tasks?{query}")
        assert resp.status_code == 400 and field in resp.json["error"]["fields"], query


def test_inbox_page_pages_through_every_task_and_says_how_many(engine, users, catalog, app,
                                                               monkeypatch):
    import web.views.inbox as inbox_view
    monkeypatch.setattr(inbox_view, "PAGE", 2)
    ids = _submitted(engine, users, catalog, 5)
    sam = logged_in(app, "sam")
    shown = []
    for n in (1, 2, 3):
        html = sam.get(f"/inbox?page={n}").get_data(as_text=True)
        assert f"{n} / 3 · 5 tasks" in html
        assert ('id="inbox-next"' in html) == (n < 3) and ('id="inbox-previous"' in html) == (n > 1)
        shown += [int(rid) for rid in re.findall(r'/(\d+)" class="task-link"', html)]
    assert shown == ids[::-1]  # newest first, each once
    assert "1 / 3" in sam.get("/inbox?page=bogus").get_data(as_text=True)  # a bad page: the first
