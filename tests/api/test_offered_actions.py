"""The actions a GET of a record offers: what the step, the roles and ownership decide is worked
out once per key (engine/workflow/offers.py), and still follows a role change or a reload of
definitions on the very next request; for every user and step the offers are the ones the full
checks give, in the same order, with the same descriptions."""
from __future__ import annotations

import pytest

from engine.auth.users import SYSTEM
from engine.errors import NotFound
from engine.workflow import offers
from tests.conftest import DEMO_USERS, make_engine
from tests.workflow.helpers import new_order, seed_catalog
from web import create_app

from .conftest import Api


def offered(api, rec) -> list[str]:
    r = api.get(f"/api/forms/sales_order/records/{rec.id}")
    assert r.status_code == 200, r.get_json()
    return [a["name"] for a in r.get_json()["actions"]]


def approved_order(engine, users):
    customer, product = seed_catalog(engine, users)
    order = new_order(engine, users["alice"], customer, product)
    engine.act(users["alice"], "sales_order", order.id, "submit")
    return engine.act(users["sam"], "sales_order", order.id, "approve")


@pytest.fixture
def live(tree, database_url, clock):
    """An engine over a copy of the valid tree (this test edits it), one user per role."""
    eng = make_engine(tree, database_url, clock)
    for name, (roles, manager) in DEMO_USERS.items():
        eng.add_user(name, roles, manager=manager, is_admin=name == "root")
    yield eng
    eng.close()


def test_a_role_granted_or_taken_changes_the_offer_on_the_next_get(engine, users, api):
    rec = approved_order(engine, users)
    sue = api("sue")  # a sales manager: reads every order; ship is for the warehouse
    assert "ship" not in offered(sue, rec)
    engine.users.update("sue", roles=["sales_manager", "warehouse"])
    assert "ship" in offered(sue, rec)  # the same token: roles are read afresh per request
    engine.users.update("sue", roles=["sales_manager"])
    assert "ship" not in offered(sue, rec)


def test_a_changed_manager_changes_the_hand_over_offer_in_the_next_actions_answer(engine, users, api):
    """An action's answer is read in its own transaction (the owner's manager included, which
    the transaction remembers): a manager changed since counts in the very next answer."""
    customer, product = seed_catalog(engine, users)
    orders = [new_order(engine, users["alice"], customer, product) for _ in range(3)]
    for order in orders:
        engine.act(users["alice"], "sales_order", order.id, "submit")
    sam, sue = api("sam"), api("sue")  # alice's manager is sam

    def approve(client, order) -> list[str]:
        r = client.post(f"/api/forms/sales_order/records/{order.id}/actions/approve", json={})
        assert r.status_code == 200, r.get_json()
        return [a["name"] for a in r.get_json()["actions"]]
    assert "reassign" in approve(sam, orders[0])
    engine.users.update("alice", manager="sue")
    assert "reassign" not in approve(sam, orders[1]) and "reassign" not in offered(sam, orders[0])
    assert "reassign" in approve(sue, orders[2]) and "reassign" in offered(sue, orders[0])


def test_a_reload_changes_what_a_step_offers_on_the_next_get(live, tree):
    users = {name: live.user(name) for name in DEMO_USERS}
    rec = approved_order(live, users)
    sue = Api(create_app(live, secret_key="test-secret"), live.create_token("sue"))
    assert "ship" not in offered(sue, rec)
    path = tree / "workflows" / "sales_order.yaml"
    path.write_text(path.read_text().replace("by: [warehouse]", "by: [warehouse, sales_manager]"))
    assert live.reload_definitions(users["root"]).status == "reloaded"
    assert "ship" in offered(sue, rec)


@pytest.mark.outbox_ok  # the new product is low on stock: an alert emails purchasing
def test_the_if_of_an_offered_action_is_still_asked_per_record(engine, users, api):
    customer, product = seed_catalog(engine, users)
    big = engine.create(SYSTEM, "product", {"sku": "P-9", "name": "Crane", "price": "200000.00"})
    small, large = (new_order(engine, users["alice"], customer, p) for p in (product, big))
    for rec in (small, large):
        engine.act(users["alice"], "sales_order", rec.id, "submit")
    sam = api("sam")

    def approve_leads_to(rec):
        actions = sam.get(f"/api/forms/sales_order/records/{rec.id}").get_json()["actions"]
        return next(a["next"] for a in actions if a["name"] == "approve")

    # approve: {to: gm_review, if: "total >= 100000"}, else approved; same key, other values
    assert (approve_leads_to(small), approve_leads_to(large)) == ("approved", "gm_review")


@pytest.mark.outbox_ok  # cc and added signers queue notifications; delivery is not the point
def test_every_user_is_offered_what_the_full_checks_offer(engine, users, monkeypatch):
    customer, product = seed_catalog(engine, users)
    big = engine.create(SYSTEM, "product", {"sku": "P-9", "name": "Crane", "price": "200000.00"})
    alice = users["alice"]
    orders = [new_order(engine, alice, customer, product) for _ in range(6)]
    orders += [new_order(engine, users["bob"], customer, big), new_order(engine, alice, customer, product)]
    for rec in orders[1:]:
        engine.act(users[rec.owner], "sales_order", rec.id, "submit")
    engine.act(users["sue"], "sales_order", orders[7].id, "approve")               # approved
    engine.act(users["sam"], "sales_order", orders[2].id, "approve")               # approved
    engine.act(users["sam"], "sales_order", orders[3].id, "reject", comment="no")  # rejected
    engine.act(users["sam"], "sales_order", orders[4].id, "cc", to="fiona")
    engine.act(users["sam"], "sales_order", orders[4].id, "add_signer", to="before:gm")
    engine.act(users["sam"], "sales_order", orders[5].id, "return", comment="fix it")
    engine.act(users["sam"], "sales_order", orders[6].id, "approve")               # gm_review
    engine.add_user("rhea", ["sales_manager"])
    engine.add_user("max", ["sales", "warehouse"])
    engine.add_user("wes", ["sales_manager", "warehouse"])  # reads every order, ships
    engine.act(engine.user("wes"), "sales_order", orders[2].id, "ship")            # shipped
    people = [engine.user(name) for name in [*DEMO_USERS, "rhea", "max", "wes"]]

    def offers_now():
        out = {}
        for user in people:
            for rec in orders:
                try:
                    seen = engine.get(user, "sales_order", rec.id)
                except NotFound:
                    continue
                out[(user.name, rec.id, seen.state)] = engine.available_actions(user, seen)
        return out

    planned = offers_now()
    monkeypatch.setattr(offers, "plan",
                        lambda flow, run: tuple((n, offers.CHECK, None) for n, *_ in offers._work_out(
                            flow, *offers.key(run))))
    assert offers_now() == planned
    states = {state for (_, _, state) in planned}
    assert {"draft", "manager_review", "gm_review", "approved", "rejected", "shipped"} <= states
    assert sum(len(actions) for actions in planned.values()) > 40
