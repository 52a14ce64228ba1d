"""A list page's statements are built once per asker and reused (engine/records/listing.py):
each asker still sees exactly the rows and fields they may read, a rule or filter that reads
the clock is asked afresh every time, and changed users and definitions change the answer."""
from __future__ import annotations

import re

import pytest

from engine.engine import Engine
from engine.errors import PermissionDenied
from tests.api.conftest import order_data
from tests.conftest import DEMO_USERS
from tests.scenarios.test_order_to_cash import World, erp  # noqa: F401  (fixture)

RULE = "  rows: \"owner == user.name or has_role('sales_manager')\"   # row-level read filter"


def _ids(page) -> set:
    return {item["id"] for item in page["items"]}


@pytest.fixture
def orders(engine, users, catalog):
    """One order of alice's and one of bob's."""
    return {who: engine.create(users[who], "sales_order", order_data(catalog)).id
            for who in ("alice", "bob")}


def test_each_asker_sees_their_own_rows__asking_in_turn(api, orders):
    path = "/api/forms/sales_order/records?limit=10"
    alice, bob, sam = api("alice"), api("bob"), api("sam")
    for _ in range(3):  # the second and third rounds run the kept statements
        assert _ids(alice.get(path).get_json()) == {orders["alice"]}
        assert _ids(bob.get(path).get_json()) == {orders["bob"]}
        assert _ids(sam.get(path).get_json()) == set(orders.values())
        assert bob.get(path).get_json()["total"] == 1
        customers = alice.get("/api/forms/customer/records?limit=10").get_json()["items"]
        assert customers and {i["form"] for i in customers} == {"customer"}


def test_a_user_given_a_role__sees_what_it_reads_on_the_next_page(engine, users, api, orders):
    path = "/api/forms/sales_order/records"
    bob = api("bob")
    assert _ids(bob.get(path).get_json()) == {orders["bob"]}
    engine.users.update("bob", roles=["sales", "sales_manager"])
    assert _ids(bob.get(path).get_json()) == set(orders.values())
    engine.users.update("bob", roles=["sales"])
    assert _ids(bob.get(path).get_json()) == {orders["bob"]}


@pytest.mark.outbox_ok  # the app's alerts email users who have no address
def test_fields_one_asker_may_see__stay_hidden_from_another_with_the_same_filter(erp):  # noqa: F811
    world = World(erp)
    pat, alice = erp.user("pat"), erp.user("alice")
    for _ in range(2):  # the second round runs the kept statements
        page = erp.list(pat, "product", filter="cost >= 0", as_json=True)
        assert {i["id"]: i for i in page.items}[world.chair.id]["data"]["cost"] == "400.00"
        with pytest.raises(PermissionDenied):  # alice may not filter on a field she cannot see
            erp.list(alice, "product", filter="cost >= 0", as_json=True)
        theirs = erp.list(alice, "product", as_json=True).items
        assert world.chair.id in {i["id"] for i in theirs}
        assert all("cost" not in item["data"] for item in theirs)


def test_a_filter_reading_the_clock__is_asked_at_each_page(engine, users, catalog, clock):
    alice = users["alice"]
    due = engine.create(alice, "sales_order", order_data(catalog, due_date="2026-03-10")).id

    def ask() -> set:
        page = engine.list(alice, "sales_order", filter="due_date >= today()", as_json=True)
        return {i["id"] for i in page.items}
    assert ask() == {due}
    assert ask() == {due}
    clock.advance(days=9)  # 2026-03-11: past the due date
    assert ask() == set()
    clock.advance(days=-9)
    assert ask() == {due}


def _engine(tree, database_url, clock) -> Engine:
    eng = Engine(str(tree), database_url, clock=clock)
    for name, (roles, manager) in DEMO_USERS.items():
        eng.add_user(name, roles, manager=manager, is_admin=name == "root")
    return eng


def _rule(tree, rule: str) -> None:
    path = tree / "forms" / "sales_order.yaml"
    text = path.read_text()
    assert RULE in text
    path.write_text(text.replace(RULE, f"  rows: \"{rule}\""))


def _order(eng, who: str, due: str) -> int:
    user = eng.user(who)
    cust = eng.create(user, "customer", {"name": "Acme", "region": "north"})
    prod = eng.create(eng.user("pat"), "product", {"sku": f"P-{who}-{due}", "name": "W", "price": "1.00"})
    return eng.create(user, "sales_order", {"customer": cust.id, "order_date": "2026-03-02",
                                            "due_date": due, "lines": [{"product": prod.id, "qty": 1}]}).id


def _seen(eng, who: str) -> set:
    return {i["id"] for i in eng.list(eng.user(who), "sales_order", as_json=True).items}


@pytest.mark.outbox_ok  # products alert purchasing on create; not this test's concern
def test_a_read_rule_reading_the_clock__is_asked_at_each_page(tree, database_url, clock):
    _rule(tree, "owner == user.name or due_date >= today()")
    eng = _engine(tree, database_url, clock)
    try:
        mine, due = _order(eng, "bob", "2026-03-04"), _order(eng, "alice", "2026-03-10")
        assert _seen(eng, "bob") == _seen(eng, "bob") == {mine, due}
        clock.advance(days=9)  # alice's order is past due: no longer readable by bob
        assert _seen(eng, "bob") == {mine}
        assert _seen(eng, "alice") == {due}
    finally:
        eng.close()


@pytest.mark.outbox_ok
def test_a_users_attribute_the_rule_reads__changes_their_page(tree, database_url, clock):
    _rule(tree, "owner == user.name or user.manager == 'gm'")
    eng = _engine(tree, database_url, clock)
    try:
        mine, hers = _order(eng, "bob", "2026-03-20"), _order(eng, "alice", "2026-03-20")
        assert _seen(eng, "bob") == _seen(eng, "bob") == {mine}
        eng.users.update("bob", manager="gm")
        assert _seen(eng, "bob") == {mine, hers}
        eng.users.update("bob", manager="sam")
        assert _seen(eng, "bob") == {mine}
    finally:
        eng.close()


@pytest.mark.outbox_ok
def test_a_reload_with_another_rule__changes_the_page(tree, database_url, clock):
    eng = _engine(tree, database_url, clock)
    try:
        mine, hers = _order(eng, "bob", "2026-03-20"), _order(eng, "alice", "2026-03-20")
        assert _seen(eng, "bob") == _seen(eng, "bob") == {mine}
        _rule(tree, "owner == user.name or has_role('sales')")
        eng.reload()
        assert _seen(eng, "bob") == {mine, hers}
        path = tree / "forms" / "sales_order.yaml"
        path.write_text(re.sub(r"  rows: .*", "  rows: \"owner == user.name\"", path.read_text()))
        eng.reload()
        assert _seen(eng, "bob") == {mine}
        assert _seen(eng, "sam") == set()
    finally:
        eng.close()
