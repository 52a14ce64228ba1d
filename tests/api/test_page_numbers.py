"""Every paged HTML list reads `?page=` the same way: a bad or huge number shows the first page."""
from __future__ import annotations

import pytest

from tests.api.conftest import logged_in, order_data

HOSTILE = ["0", "-3", "x", "²", "1e3", "9" * 20, "9" * 5000, "1000001"]

PAGES = [("root", "/admin/trash"), ("root", "/admin/audit"), ("sam", "/inbox"),
         ("alice", "/f/customer")]


@pytest.mark.parametrize("who,path", PAGES)
def test_a_bad_page_number_shows_the_first_page(app, users, who, path):
    browser = logged_in(app, who)
    first = browser.get(path).get_data(as_text=True)
    for raw in HOSTILE:
        resp = browser.get(f"{path}?page={raw}")
        assert resp.status_code == 200, (path, raw[:12])
        assert resp.get_data(as_text=True).count("1 / ") == first.count("1 / "), (path, raw[:12])


def test_a_page_past_the_last_goes_to_the_last_keeping_the_filters(app, users, catalog, engine):
    for n in range(2):
        engine.create(users["alice"], "sales_order", order_data(catalog))
    alice = logged_in(app, "alice")
    resp = alice.get("/f/sales_order?page=40&sort=-number")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/f/sales_order?page=1&sort=-number")
    resp = logged_in(app, "sam").get("/inbox?page=3&sort=oldest")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/inbox?page=1&sort=oldest")
