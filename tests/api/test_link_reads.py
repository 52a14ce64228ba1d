"""A filter, sort or report parameter that follows a link reads the linked record under the
caller's own read rules (issue 12 item 1): a hop to a form the caller may not read is refused
(403 naming the link), a hop to records their `rows` rule hides finds no record.

Fixture (tests/fixtures/link_reads): production reads sales orders and delivery notes but no
customer; a sales rep reads only the sales orders they own; everyone in sales reads every
delivery note.
"""
from __future__ import annotations

import re

import pytest

from engine.errors import PermissionDenied
from tests.conftest import FIXTURES, make_engine
from web import create_app

USERS = {"alice": ["sales"], "bob": ["sales"], "pete": ["production"], "root": ["admin"]}
TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def eng(database_url, clock):
    e = make_engine(FIXTURES / "link_reads", database_url, clock)
    for name, roles in USERS.items():
        e.add_user(name, roles, password=f"{name}-pass-123", is_admin=name == "root")
    yield e
    e.close()


@pytest.fixture
def world(eng):
    """Two customers (one rich), bob's big order for the rich one, alice's small order,
    and a delivery note for each order (alice reads both notes)."""
    u = {n: eng.user(n) for n in USERS}
    rich = eng.create(u["alice"], "customer", {"name": "Rich", "credit_limit": "90000"})
    poor = eng.create(u["alice"], "customer", {"name": "Poor", "credit_limit": "100"})
    big = eng.create(u["bob"], "sales_order", {"customer": rich.id, "total": "60000"})
    small = eng.create(u["alice"], "sales_order", {"customer": poor.id, "total": "20"})
    notes = [eng.create(u["bob"], "delivery_note", {"label": "big", "sales_order": big.id}),
             eng.create(u["alice"], "delivery_note", {"label": "small", "sales_order": small.id})]
    return {"users": u, "big": big, "small": small, "notes": notes}


@pytest.fixture
def api(eng):
    app = create_app(eng, secret_key="test-secret")
    app.config["TESTING"] = True
    client = app.test_client()

    def get(name, path):
        return client.get(path, headers={"Authorization": f"Bearer {eng.create_token(name)}"})
    get.app = app
    return get


# --- Engine.list --------------------------------------------------------------------------


def test_filter_through_a_link_to_an_unreadable_form__refused_naming_the_link(eng, world):
    pete = world["users"]["pete"]
    with pytest.raises(PermissionDenied, match="'customer'"):
        eng.list(pete, "sales_order", filter="customer.credit_limit > 50000")
    # what pete may read he still filters on
    assert eng.list(pete, "sales_order", filter="total > 50000").total == 1


def test_filter_through_a_link_to_hidden_rows__the_hidden_record_is_no_record(eng, world):
    alice = world["users"]["alice"]
    probe = "sales_order.owner == 'bob' and sales_order.total > 50000"
    assert eng.list(alice, "delivery_note", filter=probe).total == 0
    # the note itself stays visible; its hidden order behaves as no order
    assert eng.list(alice, "delivery_note", filter="sales_order.id == None").total == 1
    # her own order is followed as before
    assert [r.data["label"] for r in eng.list(alice, "delivery_note",
                                              filter="sales_order.total < 100").items] == ["small"]


def test_the_author_of_the_data_and_admins_follow_every_link(eng, world):
    probe = "sales_order.owner == 'bob' and sales_order.total > 50000"
    assert eng.list(world["users"]["bob"], "delivery_note", filter=probe).total == 1
    assert eng.list(world["users"]["root"], "delivery_note", filter=probe).total == 1
    assert eng.list(world["users"]["root"], "sales_order",
                    filter="customer.credit_limit > 50000").total == 1


def test_two_hops_are_each_under_the_rule(eng, world):
    pete = world["users"]["pete"]
    with pytest.raises(PermissionDenied, match="'sales_order.customer'"):
        eng.list(pete, "delivery_note", filter="sales_order.customer.credit_limit > 50000")
    alice = world["users"]["alice"]
    assert eng.list(alice, "delivery_note",
                    filter="sales_order.customer.credit_limit > 50000").total == 0
    assert eng.list(world["users"]["bob"], "delivery_note",
                    filter="sales_order.customer.credit_limit > 50000").total == 1


def test_order_through_a_link__same_rule(eng, world):
    pete, alice, bob = (world["users"][n] for n in ("pete", "alice", "bob"))
    with pytest.raises(PermissionDenied, match="'customer'"):
        eng.list(pete, "sales_order", order="-customer.credit_limit")
    # a second order of bob's, smaller, with a later note
    tiny = eng.create(bob, "sales_order", {"customer": world["small"].data["customer"], "total": "5"})
    eng.create(bob, "delivery_note", {"label": "tiny", "sales_order": tiny.id})

    def labels(user, order):
        return [r.data["label"] for r in eng.list(user, "delivery_note", order=order).items
                if r.data["label"] in ("big", "tiny")]
    assert labels(bob, "sales_order.total") == ["tiny", "big"]
    assert labels(bob, "-sales_order.total") == ["big", "tiny"]
    # for alice both orders are hidden: no total to sort by, the newest note first both ways
    assert labels(alice, "sales_order.total") == labels(alice, "-sales_order.total") == ["tiny", "big"]


# --- HTTP API -----------------------------------------------------------------------------


def test_api_filter_through_an_unreadable_link__403_naming_the_link(api, world):
    r = api("pete", "/api/forms/sales_order/records?filter=customer.credit_limit%20%3E%2050000")
    assert r.status_code == 403
    assert "customer" in r.get_json()["error"]["message"]
    r = api("pete", "/api/forms/sales_order/records?order=customer.credit_limit")
    assert r.status_code == 403
    doc = api("pete", "/api/openapi.json").get_json()
    assert "403" in doc["paths"]["/api/forms/sales_order/records"]["get"]["responses"]


def test_api_filter_through_hidden_rows__counts_nothing(api, world):
    probe = "sales_order.owner == 'bob' and sales_order.total > 50000"
    r = api("alice", f"/api/forms/delivery_note/records?filter={probe}")
    assert r.status_code == 200 and r.get_json()["total"] == 0
    r = api("bob", f"/api/forms/delivery_note/records?filter={probe}")
    assert r.status_code == 200 and r.get_json()["total"] == 1


# --- reports --------------------------------------------------------------------------------


def test_report_param_through_an_unreadable_link__refused(eng, world):
    pete = world["users"]["pete"]
    with pytest.raises(PermissionDenied, match="'customer'"):
        eng.report(pete, "orders_over", {"min_limit": "50000"})
    alice = world["users"]["alice"]
    # alice reads every customer but only her own order
    assert eng.report(alice, "orders_over", {"min_limit": "50000"}).rows == [(0,)]
    assert eng.report(world["users"]["bob"], "orders_over", {"min_limit": "50000"}).rows == [(1,)]


def test_report_param_through_an_unreadable_link__403_over_http(api, world):
    r = api("pete", "/api/reports/orders_over?min_limit=50000")
    assert r.status_code == 403 and "customer" in r.get_json()["error"]["message"]


def test_report_authors_fixed_expressions_still_show_what_they_chose(eng, world):
    # no reader input reaches the hop: the author decided production sees customer names
    rows = eng.report(world["users"]["pete"], "orders_by_customer").rows
    assert sorted(rows) == [("Poor", 1), ("Rich", 1)]


# --- web list page --------------------------------------------------------------------------


def test_web_list_page_offers_no_hop_to_probe(api, world):
    """The list page's search is the title field, its filters are the indexed fields by id
    and its sort is limited to them: no query argument reaches a linked record."""
    c = api.app.test_client()
    page = c.get("/login").get_data(as_text=True)
    c.post("/login", data={"username": "alice", "password": "alice-pass-123",
                           "csrf_token": TOKEN_RE.search(page).group(1)})
    plain = c.get("/f/delivery_note").get_data(as_text=True)
    assert "big" in plain and "small" in plain
    probing = c.get("/f/delivery_note?sort=-sales_order.total&q=big"
                    "&x.sales_order.total=60000").get_data(as_text=True)
    assert "big" in probing and ">small<" not in probing
    r = c.get("/f/sales_order?x.customer=customer.credit_limit%20%3E%200")
    assert r.status_code == 200


# --- alerts explained to a user --------------------------------------------------------------


def test_alert_explained_to_a_reader_shows_no_value_of_a_record_hidden_from_them(eng, world):
    big = world["big"]
    seen = eng.explain_alert(world["users"]["pete"], "big_customer", big.id)["values"]
    assert seen["customer.credit_limit"] is None and seen["total"] == "60000.00"
    # whoever may read the customer sees its value; the system's own runs see everything
    assert eng.explain_alert(world["users"]["bob"], "big_customer",
                             big.id)["values"]["customer.credit_limit"] == "90000.00"


def test_alert_traces_shown_to_a_reader_withhold_values_read_through_a_hidden_link(eng, world):
    u = world["users"]
    order = eng.create(u["bob"], "sales_order", {"customer": world["big"].data["customer"],
                                                 "total": "10"})  # condition false: traced
    for who, expected in (("pete", None), ("bob", "90000.00"), ("root", "90000.00")):
        traces = eng.alert_traces(u[who], alert="big_customer", record_id=order.id)
        assert traces and all(t["detail"]["values"]["customer.credit_limit"] == expected
                              for t in traces), who
        assert traces[0]["detail"]["values"]["total"] == "10.00"
