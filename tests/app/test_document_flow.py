"""The bundled ERP's document flow, walked through the Engine facade: an order shipped in
two delivery notes made from it, invoiced from what shipped, part of it returned from a
note and credited, paid; every quantity on the order lines, the notes, the stock and the
customer's balance is checked at each step, and each over-run is refused."""
from __future__ import annotations

from decimal import Decimal

import pytest

from engine.errors import LoomError, ValidationFailed
from tests.app.erp_world import APP, World, add_users
from tests.conftest import make_engine
from tests.plans import index_on, plan, statements

pytestmark = pytest.mark.outbox_ok  # the app's alerts e-mail users who have no address


@pytest.fixture
def erp(database_url, clock):
    eng = make_engine(APP, database_url, clock)
    add_users(eng)
    yield eng
    eng.close()


@pytest.fixture
def world(erp):
    return World(erp)


def lines(rec):
    return {ln["product"]: ln for ln in rec.data["lines"]}


def test_order_to_cash_line_by_line(world):
    w, erp, u = world, world.erp, world.u
    chair, lamp = w.chair.id, w.lamp.id

    # --- 10 chairs at an agreed 90 and 4 lamps: 1,100; submitting reserves them -----------
    order = w.approved_order([{"product": chair, "qty": 10, "price": "90"},
                              {"product": lamp, "qty": 4}])
    assert order.state == "approved" and order.data["total"] == Decimal("1100.00")
    assert (w.stock_row(w.chair)["reserved"], w.stock_row(w.lamp)["reserved"]) == (10, 4)
    chair_line, lamp_line = (ln["_id"] for ln in order.data["lines"])

    # --- the draft made from the order holds what is left to ship -------------------------
    draft = erp.new_from(u["walt"], "delivery_note", f"sales_order:{order.id}")
    assert [(ln["order_line"], ln["qty"]) for ln in draft.values["lines"]] == [
        (chair_line, 10), (lamp_line, 4)]

    # a product not on the order cannot be shipped on it: a line of another order is refused
    other = w.approved_order([{"product": lamp, "qty": 1}])
    with pytest.raises(ValidationFailed) as exc:
        w.delivery(order.id, [(other.data["lines"][0]["_id"], 1)])
    assert "does not belong to the chosen sales order" in exc.value.fields["lines[0].order_line"]
    # nor more than is left on the line
    with pytest.raises(ValidationFailed) as exc:
        w.delivery(order.id, [(chair_line, 11)])
    assert exc.value.fields["lines[0].qty"] == "More than the order line holds"

    # --- first shipment: 6 chairs, priced as agreed on the order ---------------------------
    dn1 = w.delivery(order.id, [(chair_line, 6)])
    assert [(ln["product"], ln["qty"], ln["price"]) for ln in dn1.data["lines"]] == [
        (chair, 6, Decimal("90.00"))]
    w.ship(dn1.id)
    o = w.get("sales_order", order.id)
    assert (lines(o)[chair]["shipped_qty"], lines(o)[lamp]["shipped_qty"]) == (6, 0)
    assert o.data["shipped_value"] == Decimal("540.00")
    assert o.data["shipped_pct"] == Decimal("42.9")  # 6 of 14 units
    c = w.stock_row(w.chair)
    assert (c["on_hand"], c["reserved"], c["shipped"]) == (24, 4, 6)
    (inv1,) = w.all("invoice", f"delivery_note == {dn1.id}")
    assert inv1.data["amount"] == Decimal("540.00")
    assert lines(w.get("sales_order", order.id))[chair]["invoiced_qty"] == 6
    assert w.balance() == Decimal("540.00")

    # an invoice beyond what shipped is refused: this note is invoiced already
    with pytest.raises(LoomError):
        erp.create(u["fiona"], "invoice", {}, source=f"delivery_note:{dn1.id}")
    assert lines(w.get("sales_order", order.id))[chair]["invoiced_qty"] == 6

    # --- two notes for the rest; only the first to ship goes through ----------------------
    dn2 = w.delivery(order.id)
    late = w.delivery(order.id, [(chair_line, 4)])
    assert [(ln["order_line"], ln["qty"]) for ln in dn2.data["lines"]] == [
        (chair_line, 4), (lamp_line, 4)]
    w.ship(dn2.id)
    with pytest.raises(ValidationFailed) as exc:  # the order line's rule refuses it whole
        w.ship(late.id)
    assert exc.value.message == (f"Sales order {order.number}, line 1 ({w.chair.data['sku']}): "
                                 "More would be shipped than was ordered on this line")
    assert w.get("delivery_note", late.id).state == "picking"
    o = w.get("sales_order", order.id)
    assert [(ln["shipped_qty"], ln["invoiced_qty"]) for ln in o.data["lines"]] == [(10, 10), (4, 4)]
    assert (o.data["shipped_pct"], o.data["invoiced_pct"]) == (Decimal("100"), Decimal("100"))
    c, lp = w.stock_row(w.chair), w.stock_row(w.lamp)
    assert (c["on_hand"], c["reserved"], lp["on_hand"], lp["reserved"]) == (20, 0, 26, 1)  # 1: other
    erp.act(u["walt"], "delivery_note", late.id, "cancel")
    erp.act(u["walt"], "sales_order", order.id, "complete")
    assert w.balance() == Decimal("1100.00")

    # --- a return made from the first note: at most the 6 it shipped -----------------------
    dn1_line = w.get("delivery_note", dn1.id).data["lines"][0]["_id"]
    with pytest.raises(ValidationFailed):
        w.return_of(dn1.id, [(dn1_line, 7)])
    rma = w.return_of(dn1.id, [(dn1_line, 2)])
    assert (rma.data["sales_order"], rma.data["total"]) == (order.id, Decimal("180.00"))
    w.receive_return(rma.id)
    assert w.get("delivery_note", dn1.id).data["lines"][0]["returned_qty"] == 2
    assert lines(w.get("sales_order", order.id))[chair]["returned_qty"] == 2
    assert w.stock_row(w.chair)["on_hand"] == 22  # back on the shelf
    (credit,) = w.all("credit_note", f"customer == {w.customer.id}")
    assert credit.data["amount"] == Decimal("180.00")
    assert w.balance() == Decimal("920.00")
    # what is left to return from that note is 4
    assert [ln["qty"] for ln in erp.new_from(u["alice"], "return_request",
                                              f"delivery_note:{dn1.id}").values["lines"]] == [4]
    with pytest.raises(ValidationFailed):
        w.return_of(dn1.id, [(dn1_line, 5)])

    # --- payments bring the balance to zero -------------------------------------------------
    inv2 = w.all("invoice", f"delivery_note == {dn2.id}")[0]
    w.pay(inv1.id, "540")
    w.pay(inv2.id, "380")
    assert w.balance() == Decimal("0.00")
    w.check_invariants()

    # --- the stock ledger tells the chair's story, before and after each move ---------------
    moves = w.all("stock_move", f"item == {w.stock[(chair, w.wh.id)]}")
    story = sorted((m.id, m.data["reason"], m.data["on_hand_before"], m.data["on_hand_after"],
                    m.data["reserved_before"], m.data["reserved_after"]) for m in moves)
    assert [s[1:] for s in story] == [
        ("counted", 0, 30, 0, 0), ("reserved", 30, 30, 0, 10), ("shipped", 30, 24, 10, 4),
        ("shipped", 24, 20, 4, 0), ("returned", 20, 22, 0, 0)]


def test_submitting_an_order_beyond_the_stock_names_the_stock_item(world):
    w = world
    o = w.order([{"product": w.lamp.id, "qty": 31}])  # 30 on the shelf
    with pytest.raises(ValidationFailed) as exc:
        w.erp.act(w.u["alice"], "sales_order", o.id, "submit")
    assert exc.value.message == (f"Stock {w.lamp.data['sku']}@{w.wh.data['code']}: "
                                 "Not enough stock available to reserve")
    assert w.get("sales_order", o.id).state == "draft"
    assert w.stock_row(w.lamp)["reserved"] == 0


def test_submitting_for_a_warehouse_that_never_had_the_product_is_refused_clearly(world):
    w = world
    o = w.order([{"product": w.lamp.id, "qty": 1}], warehouse=w.erp.create(
        w.u["root"], "warehouse", {"code": "NEW", "name": "New store"}).id)
    with pytest.raises(ValidationFailed) as exc:  # its stock row is made empty, then refused
        w.erp.act(w.u["alice"], "sales_order", o.id, "submit")
    assert exc.value.message.endswith(": Not enough stock available to reserve")
    assert w.get("sales_order", o.id).state == "draft"
    assert w.all("stock", f"product == {w.lamp.id}").__len__() == 2  # rolled back with the rest


def test_transfer_shows_goods_in_transit_then_on_the_other_shelf(world):
    w, erp, walt = world, world.erp, world.u["walt"]
    tr = erp.create(walt, "stock_transfer", {"from_warehouse": w.wh.id, "to_warehouse": w.wh2.id,
                                             "lines": [{"product": w.chair.id, "qty": 12}]})
    erp.act(walt, "stock_transfer", tr.id, "dispatch")
    assert w.stock_row(w.chair)["on_hand"] == 18
    there = w.stock_row(w.chair, w.wh2)
    assert (there["on_hand"], there["in_transit"]) == (5, 12)
    erp.act(walt, "stock_transfer", tr.id, "receive")
    there = w.stock_row(w.chair, w.wh2)
    assert (there["on_hand"], there["in_transit"]) == (17, 0)
    # more than is available is refused whole
    big = erp.create(walt, "stock_transfer", {"from_warehouse": w.wh2.id, "to_warehouse": w.wh.id,
                                              "lines": [{"product": w.chair.id, "qty": 18}]})
    with pytest.raises(ValidationFailed):
        erp.act(walt, "stock_transfer", big.id, "dispatch")
    assert w.stock_row(w.chair, w.wh2)["on_hand"] == 17
    w.check_invariants()


def test_work_order_demand_raises_a_requisition_netted_against_stock_and_orders(world):
    w, erp, u = world, world.erp, world.u
    oak = erp.create(u["pat"], "product", {"sku": "OAK", "name": "Oak board", "price": "30",
                                           "cost": "12", "supplier": w.supplier.id})
    table = erp.create(u["pat"], "product", {"sku": "TB", "name": "Custom table", "price": "900",
                                             "made_to_order": True})
    bom = erp.create(u["root"], "bom", {"product": table.id, "components": [
        {"material": oak.id, "qty_per_unit": "2.5"}]})
    erp.update(u["root"], "product", table.id, {"bom": bom.id}, version=table.version)
    o = w.approved_order([{"product": table.id, "qty": 3, "size": "L", "material": "oak",
                           "colour": "natural"}])
    (wo,) = w.all("work_order", f"sales_order == {o.id}")
    # 7.5 boards needed in the order's warehouse, which never kept oak: a row is made for it
    (oak_row,) = w.all("stock", f"product == {oak.id}")
    assert (oak_row.data["warehouse"], oak_row.data["demand"], oak_row.data["projected"]) == (
        w.wh.id, 8, -8)
    (req,) = w.all("purchase_requisition", f"item == {oak_row.id}")
    assert req.data["qty"] == 50 + 0 + 8  # reorder quantity + safety stock - projected
    # once the work order is done its materials are no longer demand
    for action in ("start", "finish", "pass"):
        erp.act(u["zhang"], "work_order", wo.id, action)
    assert w.get("stock", oak_row.id).data["demand"] == 0


def test_a_products_tolerance_lets_a_delivery_ship_a_little_more_than_ordered(world):
    w, erp, u = world, world.erp, world.u
    erp.update(u["pat"], "product", w.lamp.id, {"over_ship_pct": "10"}, version=w.lamp.version)
    order = w.approved_order([{"product": w.lamp.id, "qty": 10}])
    line = order.data["lines"][0]["_id"]
    with pytest.raises(ValidationFailed):  # 12 is more than 10 % over
        w.delivery(order.id, [(line, 12)])
    w.ship(w.delivery(order.id, [(line, 11)]).id)
    o = w.get("sales_order", order.id)
    assert (o.data["lines"][0]["shipped_qty"], o.data["to_ship_qty"]) == (11, 0)
    lamp = w.stock_row(w.lamp)  # the extra unit came off the shelf, not another reservation
    assert (lamp["on_hand"], lamp["reserved"]) == (19, 0)


def test_the_rep_hears_of_an_approved_order_once(world):
    import sqlalchemy as sa

    from engine.store import tables as t

    order = world.approved_order([{"product": world.chair.id, "qty": 1}])
    with world.erp.db.read() as conn:
        told = conn.execute(sa.select(t.notifications.c.subject).where(
            t.notifications.c.user_name == "alice", t.notifications.c.record_id == order.id)).scalars().all()
    assert len([s for s in told if "approved" in s.lower() or "已审批" in s or "已通过" in s]) == 1, told


def test_a_steps_update_where_finds_its_stock_row_by_index(world):
    # `update stock where target.product == line.product and target.warehouse == warehouse`
    # runs once per line of every submitted order and shipped note: it read the whole stock
    # table while `and` wrapped each comparison in coalesce() (and on PostgreSQL, where
    # IS NOT DISTINCT FROM is never served by an index, even unwrapped)
    w, erp = world, world.erp
    with statements(erp) as seen:
        order = w.approved_order([{"product": w.chair.id, "qty": 2}])
        w.ship(w.delivery(order.id).id)
    lookups = [(s, p) for s, p in seen if s.lstrip().upper().startswith("SELECT")
               and "FROM t_stock" in s and "product" in s.split("WHERE", 1)[-1]]
    assert lookups, "no stock lookup seen"
    indexes = {index_on(erp, "stock", "product"), index_on(erp, "stock", "warehouse")}
    for sql, params in lookups:
        got = plan(erp, sql, params)
        assert any(i in got for i in indexes), (sql, got)
