"""Line ids through the JSON API and the web form: shown, kept when sent back, in the history."""
from __future__ import annotations

import re

from tests.api.conftest import order_data
from tests.api.test_web_pages import browser_as  # noqa: F401  (fixture)


def test_api_shows_line_ids_and_keeps_them_when_sent_back(api, catalog):
    a = api("alice")
    made = a.post("/api/forms/sales_order/records", json={"data": order_data(catalog)}).get_json()
    lines = made["data"]["lines"]
    first, second = [row["_id"] for row in lines]
    assert first and second and first != second
    url = f"/api/forms/sales_order/records/{made['id']}"
    lines[1]["qty"] = 9
    r = a.patch(url, json={"data": {"lines": [lines[1], lines[0]]}, "version": made["version"]})
    assert r.status_code == 200, r.get_json()
    assert [row["_id"] for row in r.get_json()["data"]["lines"]] == [second, first]
    [_, update] = a.get(url + "/history").get_json()["items"]
    change = update["diff"]["lines"]
    assert change["changed"] == [{"_id": second, "at": 1, "fields": {
        "amount": ["16.00", "28.80"], "qty": [5, 9]}}]
    assert change["moved"] is True


def test_web_edit_keeps_line_ids_and_the_history_names_the_line(browser_as, engine, users, catalog):
    alice = browser_as("alice")
    rec = engine.create(users["alice"], "sales_order", order_data(catalog))
    ids = [row["_id"] for row in rec.data["lines"]]
    page = alice.get(f"/f/sales_order/{rec.id}/edit").get_data(as_text=True)
    assert re.findall(r'name="f\.lines\.(\d)\._id" value="(\w+)"', page) == [("0", ids[0]),
                                                                               ("1", ids[1])]
    p1, p2 = catalog["products"]
    r = alice.send(f"/f/sales_order/{rec.id}/edit", {
        "version": str(rec.version), "f.customer": str(catalog["customer"].id),
        "f.order_date": "2026-03-02", "f.due_date": "2026-03-20", "f.channel": "phone",
        "f.lines.0._id": ids[0], "f.lines.0.product": str(p1.id), "f.lines.0.qty": "2",
        "f.lines.0.price": "12.50",
        "f.lines.1._id": ids[1], "f.lines.1.product": str(p2.id), "f.lines.1.qty": "7",
        "f.lines.1.price": "3.20",
        "f.lines.2.product": str(p1.id), "f.lines.2.qty": "1", "f.lines.2.price": "12.50"})
    assert r.status_code == 302, r.get_data(as_text=True)
    after = engine.get(users["alice"], "sales_order", rec.id)
    assert [row["_id"] for row in after.data["lines"]][:2] == ids
    page = alice.get(f"/f/sales_order/{rec.id}").get_data(as_text=True)
    changes = re.findall(r'<li class="muted">([^<]*)</li>', page)
    # in form order, cells in table order, whatever order the database kept the keys in
    assert changes[:3] == ["Lines · line added: Product Widget, Qty 1, Price 12.50, Amount 12.50",
                           "Lines · line 2: Qty 5 → 7, Amount 16.00 → 22.40", "Total: 41.00 → 59.90"]
    # links by their titles, never by id; the creating event lists no changes (they are the record)
    assert not [c for c in changes if "#" in c]
    assert len(changes) == 3
