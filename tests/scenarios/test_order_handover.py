"""The ERP app: a sales manager hands an order to another rep (reassign), and a rep
deletes a draft typed by mistake; a sales manager acts as sales through the role group."""
from __future__ import annotations

import pytest

from engine.errors import ActionRefused, NotFound, PermissionDenied

from .test_order_to_cash import USERS, World, erp  # noqa: F401  (the fixture)

pytestmark = pytest.mark.outbox_ok  # the app's alerts email users without an address


@pytest.fixture
def world(erp):
    erp.add_user("bob", ["sales"], manager="sam", password="bob-pass-123")
    return World(erp)


def _draft(world, rep="alice"):
    return world.erp.create(world.erp.user(rep), "sales_order", {
        "customer": world.customer.id, "due_date": "2026-03-20", "warehouse": world.wh.id,
        "lines": [{"product": world.lamp.id, "qty": 1}]})


def test_the_sales_manager_hands_an_order_to_another_rep(erp, world):
    alice, bob, sam = erp.user("alice"), erp.user("bob"), erp.user("sam")
    order = _draft(world)
    after = erp.act(sam, "sales_order", order.id, "reassign", to="bob", comment="alice is on leave")
    assert (after.owner, after.data["sales_rep"]) == ("bob", "bob")
    with pytest.raises(NotFound):  # the rows rule: her orders are those she owns or handles
        erp.get(alice, "sales_order", order.id)
    assert erp.act(bob, "sales_order", order.id, "submit").state == "manager_review"
    assert [t.record_id for t in erp.tasks(sam)] == [order.id]


def test_a_rep_may_not_hand_a_colleagues_order_over(erp, world):
    order = _draft(world)
    erp.act(erp.user("sam"), "sales_order", order.id, "reassign", to="bob")
    with pytest.raises((PermissionDenied, NotFound)):
        erp.act(erp.user("alice"), "sales_order", order.id, "reassign", to="alice")


def test_a_rep_deletes_their_draft_but_not_a_submitted_order(erp, world):
    alice = erp.user("alice")
    draft, submitted = _draft(world), _draft(world)
    erp.act(alice, "sales_order", submitted.id, "submit")
    erp.delete(alice, "sales_order", draft.id)
    with pytest.raises(PermissionDenied):
        erp.delete(alice, "sales_order", submitted.id)
    with pytest.raises(PermissionDenied):  # the owner only, not another rep's manager
        erp.delete(erp.user("sam"), "sales_order", _draft(world).id)
    assert [r.id for r in erp.list(alice, "sales_order").items if r.id == draft.id] == []


def test_a_customer_with_orders_cannot_be_deleted_even_by_an_admin(erp, world):
    order = _draft(world)
    with pytest.raises(ActionRefused) as err:
        erp.delete(erp.user("root"), "customer", world.customer.id)
    assert err.value.reason == "linked" and order.number in err.value.message
    with pytest.raises(PermissionDenied):  # customers name no delete role: administrators only
        erp.delete(erp.user("alice"), "customer", world.customer.id)


def test_a_sales_manager_creates_what_sales_may(erp, world):
    assert erp.user("sam").roles >= {"sales_manager", "sales"}
    assert _draft(world, rep="sam").owner == "sam"
